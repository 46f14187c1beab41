export type MailKind = 'verify_email' | 'reset_password' | 'set_password' | 'magic_link' | 'mfa_code' | 'mfa_setup_code';
export type SmsKind = 'phone_verification' | 'mfa_code';

type CodeKind = 'mfa_code' | 'mfa_setup_code';
type LinkKind = Exclude<MailKind, CodeKind>;
const isCode = (kind: MailKind): kind is CodeKind => kind === 'mfa_code' || kind === 'mfa_setup_code';
type Unit = 'minute' | 'hour';

/** One language's wording. `a` is the app name, `d` a formatted duration, `c` a code. */
type Strings = {
  subject: Record<MailKind, (a: string, c: string) => string>;
  intro: Record<MailKind, (a: string) => string>;
  action: Record<LinkKind, string>;
  fallback: string;
  linkValid: (d: string) => string;
  codeValid: (d: string) => string;
  ignore: string;
  unit: (n: number, unit: Unit) => string;
  sms: Record<SmsKind, (c: string, a: string, d: string) => string>;
};

const plural = (one: string, many: string) => (n: number) => `${n} ${n === 1 ? one : many}`;

const en: Strings = {
  subject: {
    verify_email: (a) => `Confirm your email address for ${a}`,
    reset_password: (a) => `Reset your ${a} password`,
    set_password: (a) => `Welcome to ${a}: set your password`,
    magic_link: (a) => `Your ${a} sign-in link`,
    mfa_code: (a, c) => `Your ${a} sign-in code: ${c}`,
    mfa_setup_code: (a, c) => `Your ${a} verification code: ${c}`,
  },
  intro: {
    verify_email: (a) => `Please confirm your email address for ${a} by opening this link:`,
    reset_password: (a) => `Someone asked to reset the password of your ${a} account. Open this link to choose a new password:`,
    set_password: (a) => `An account has been created for you at ${a}. Open this link to set your password:`,
    magic_link: (a) => `Open this link to sign in to ${a}:`,
    mfa_code: (a) => `Enter this code to finish signing in to ${a}:`,
    mfa_setup_code: (a) => `Enter this code to turn on email codes for signing in to ${a}:`,
  },
  action: { verify_email: 'Confirm email address', reset_password: 'Reset password', set_password: 'Set password', magic_link: 'Sign in' },
  fallback: 'If the button does not work, copy this link into your browser:',
  linkValid: (d) => `This link is valid for ${d}.`,
  codeValid: (d) => `This code is valid for ${d}.`,
  ignore: 'If you did not ask for this, you can ignore this email.',
  unit: (n, u) => (u === 'hour' ? plural('hour', 'hours') : plural('minute', 'minutes'))(n),
  sms: {
    phone_verification: (c, a, d) => `${c} is your ${a} verification code. It expires in ${d}.`,
    mfa_code: (c, a, d) => `${c} is your ${a} sign-in code. It expires in ${d}.`,
  },
};

const de: Strings = {
  subject: {
    verify_email: (a) => `Bestätigen Sie Ihre E-Mail-Adresse für ${a}`,
    reset_password: (a) => `Setzen Sie Ihr Passwort für ${a} zurück`,
    set_password: (a) => `Willkommen bei ${a}: Legen Sie Ihr Passwort fest`,
    magic_link: (a) => `Ihr Anmeldelink für ${a}`,
    mfa_code: (a, c) => `Ihr Anmeldecode für ${a}: ${c}`,
    mfa_setup_code: (a, c) => `Ihr Bestätigungscode für ${a}: ${c}`,
  },
  intro: {
    verify_email: (a) => `Bitte bestätigen Sie Ihre E-Mail-Adresse für ${a} über diesen Link:`,
    reset_password: (a) => `Jemand möchte das Passwort Ihres Kontos bei ${a} zurücksetzen. Über diesen Link wählen Sie ein neues Passwort:`,
    set_password: (a) => `Für Sie wurde ein Konto bei ${a} angelegt. Über diesen Link legen Sie Ihr Passwort fest:`,
    magic_link: (a) => `Über diesen Link melden Sie sich bei ${a} an:`,
    mfa_code: (a) => `Geben Sie diesen Code ein, um die Anmeldung bei ${a} abzuschließen:`,
    mfa_setup_code: (a) => `Geben Sie diesen Code ein, um Anmeldecodes per E-Mail für ${a} einzuschalten:`,
  },
  action: { verify_email: 'E-Mail-Adresse bestätigen', reset_password: 'Passwort zurücksetzen', set_password: 'Passwort festlegen', magic_link: 'Anmelden' },
  fallback: 'Falls die Schaltfläche nicht funktioniert, kopieren Sie diesen Link in Ihren Browser:',
  linkValid: (d) => `Dieser Link ist ${d} gültig.`,
  codeValid: (d) => `Dieser Code ist ${d} gültig.`,
  ignore: 'Falls Sie das nicht angefordert haben, können Sie diese E-Mail ignorieren.',
  unit: (n, u) => (u === 'hour' ? plural('Stunde', 'Stunden') : plural('Minute', 'Minuten'))(n),
  sms: {
    phone_verification: (c, a, d) => `${c} ist Ihr Bestätigungscode für ${a}. Er läuft in ${d} ab.`,
    mfa_code: (c, a, d) => `${c} ist Ihr Anmeldecode für ${a}. Er läuft in ${d} ab.`,
  },
};

const fr: Strings = {
  subject: {
    verify_email: (a) => `Confirmez votre adresse e-mail pour ${a}`,
    reset_password: (a) => `Réinitialisez votre mot de passe ${a}`,
    set_password: (a) => `Bienvenue sur ${a} : définissez votre mot de passe`,
    magic_link: (a) => `Votre lien de connexion à ${a}`,
    mfa_code: (a, c) => `Votre code de connexion à ${a} : ${c}`,
    mfa_setup_code: (a, c) => `Votre code de vérification ${a} : ${c}`,
  },
  intro: {
    verify_email: (a) => `Veuillez confirmer votre adresse e-mail pour ${a} en ouvrant ce lien :`,
    reset_password: (a) => `La réinitialisation du mot de passe de votre compte ${a} a été demandée. Ouvrez ce lien pour choisir un nouveau mot de passe :`,
    set_password: (a) => `Un compte a été créé pour vous sur ${a}. Ouvrez ce lien pour définir votre mot de passe :`,
    magic_link: (a) => `Ouvrez ce lien pour vous connecter à ${a} :`,
    mfa_code: (a) => `Saisissez ce code pour terminer votre connexion à ${a} :`,
    mfa_setup_code: (a) => `Saisissez ce code pour activer les codes de connexion par e-mail sur ${a} :`,
  },
  action: {
    verify_email: "Confirmer l'adresse e-mail",
    reset_password: 'Réinitialiser le mot de passe',
    set_password: 'Définir le mot de passe',
    magic_link: 'Se connecter',
  },
  fallback: 'Si le bouton ne fonctionne pas, copiez ce lien dans votre navigateur :',
  linkValid: (d) => `Ce lien est valable ${d}.`,
  codeValid: (d) => `Ce code est valable ${d}.`,
  ignore: "Si vous n'êtes pas à l'origine de cette demande, vous pouvez ignorer cet e-mail.",
  unit: (n, u) => (u === 'hour' ? plural('heure', 'heures') : plural('minute', 'minutes'))(n),
  sms: {
    phone_verification: (c, a, d) => `${c} est votre code de vérification ${a}. Il expire dans ${d}.`,
    mfa_code: (c, a, d) => `${c} est votre code de connexion ${a}. Il expire dans ${d}.`,
  },
};

const es: Strings = {
  subject: {
    verify_email: (a) => `Confirma tu dirección de correo electrónico para ${a}`,
    reset_password: (a) => `Restablece tu contraseña de ${a}`,
    set_password: (a) => `Te damos la bienvenida a ${a}: establece tu contraseña`,
    magic_link: (a) => `Tu enlace de inicio de sesión en ${a}`,
    mfa_code: (a, c) => `Tu código de inicio de sesión en ${a}: ${c}`,
    mfa_setup_code: (a, c) => `Tu código de verificación de ${a}: ${c}`,
  },
  intro: {
    verify_email: (a) => `Confirma tu dirección de correo electrónico para ${a} abriendo este enlace:`,
    reset_password: (a) => `Se ha solicitado restablecer la contraseña de tu cuenta de ${a}. Abre este enlace para elegir una nueva contraseña:`,
    set_password: (a) => `Se ha creado una cuenta para ti en ${a}. Abre este enlace para establecer tu contraseña:`,
    magic_link: (a) => `Abre este enlace para iniciar sesión en ${a}:`,
    mfa_code: (a) => `Introduce este código para terminar de iniciar sesión en ${a}:`,
    mfa_setup_code: (a) => `Introduce este código para activar los códigos de inicio de sesión por correo en ${a}:`,
  },
  action: {
    verify_email: 'Confirmar dirección de correo',
    reset_password: 'Restablecer contraseña',
    set_password: 'Establecer contraseña',
    magic_link: 'Iniciar sesión',
  },
  fallback: 'Si el botón no funciona, copia este enlace en tu navegador:',
  linkValid: (d) => `Este enlace es válido durante ${d}.`,
  codeValid: (d) => `Este código es válido durante ${d}.`,
  ignore: 'Si no lo has solicitado, puedes ignorar este correo.',
  unit: (n, u) => (u === 'hour' ? plural('hora', 'horas') : plural('minuto', 'minutos'))(n),
  sms: {
    phone_verification: (c, a, d) => `${c} es tu código de verificación de ${a}. Caduca en ${d}.`,
    mfa_code: (c, a, d) => `${c} es tu código de inicio de sesión de ${a}. Caduca en ${d}.`,
  },
};

const LANGUAGES: Record<string, Strings> = { en, de, fr, es };

/** The primary subtag of a BCP 47 tag picks the wording (`de-AT` → de); anything else gets English. */
export function pickLanguage(language: string | null | undefined): string {
  return pick(language).lang;
}

function pick(language: string | null | undefined): { lang: string; s: Strings } {
  const primary = (language ?? '').split(/[-_]/)[0]?.toLowerCase() ?? '';
  const s = Object.hasOwn(LANGUAGES, primary) ? LANGUAGES[primary] : undefined;
  return s ? { lang: primary, s } : { lang: 'en', s: en };
}

/** "24 hours" rather than "1440 minutes" when whole hours; never below one minute. */
function formatDuration(s: Strings, minutes: number): string {
  const n = Math.max(1, Math.round(minutes));
  return n >= 60 && n % 60 === 0 ? s.unit(n / 60, 'hour') : s.unit(n, 'minute');
}

/**
 * Renders a mail in the user's language. Link mails put the link verbatim on a line of its own
 * in the text part (mail clients make it clickable; tests read the token from it).
 */
export function renderMail(
  kind: MailKind,
  input: { appName: string; language: string | null | undefined; link?: string; code?: string; expiresInMinutes: number },
): { subject: string; text: string; html: string } {
  const { lang, s } = pick(input.language);
  const app = input.appName;
  const duration = formatDuration(s, input.expiresInMinutes);
  const secret = isCode(kind) ? input.code : input.link;
  if (!secret) throw new Error(`renderMail(${kind}) needs ${isCode(kind) ? 'a code' : 'a link'}`);
  const subject = s.subject[kind](app, input.code ?? '');
  const validity = isCode(kind) ? s.codeValid(duration) : s.linkValid(duration);
  const text = [s.intro[kind](app), '', secret, '', validity, s.ignore, '', `— ${app}`, ''].join('\n');
  const body = isCode(kind) ? codeHtml(secret) : linkHtml(secret, s.action[kind], s.fallback);
  const html = page(lang, subject, [
    `<p>${escapeHtml(s.intro[kind](app))}</p>`,
    body,
    `<p style="${MUTED}">${escapeHtml(validity)} ${escapeHtml(s.ignore)}</p>`,
    `<p style="${MUTED}">— ${escapeHtml(app)}</p>`,
  ]);
  return { subject, text, html };
}

/** An SMS body: the code first, so phones can offer to fill it in. */
export function renderSms(kind: SmsKind, input: { appName: string; language: string | null | undefined; code: string; expiresInMinutes: number }): string {
  const { s } = pick(input.language);
  return s.sms[kind](input.code, input.appName, formatDuration(s, input.expiresInMinutes));
}

export const MUTED = 'color:#555;font-size:13px;line-height:1.5';
const BUTTON = 'display:inline-block;padding:10px 18px;background:#1a56db;color:#ffffff;text-decoration:none;border-radius:4px;font-weight:bold';

function linkHtml(link: string, action: string, fallback: string): string {
  const href = escapeHtml(link);
  return [
    `<p><a href="${href}" style="${BUTTON}">${escapeHtml(action)}</a></p>`,
    `<p style="${MUTED}">${escapeHtml(fallback)}<br><a href="${href}" style="color:#1a56db;word-break:break-all">${href}</a></p>`,
  ].join('\n');
}

function codeHtml(code: string): string {
  return `<p style="font-size:28px;font-weight:bold;letter-spacing:4px;font-family:monospace">${escapeHtml(code)}</p>`;
}

/** Inline styles only: no external stylesheet, font or image for a mail client to fetch. */
export function page(lang: string, subject: string, parts: string[]): string {
  return [
    '<!doctype html>',
    `<html lang="${lang}"><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>`,
    '<body style="margin:0;padding:24px;font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;color:#222222">',
    ...parts,
    '</body></html>',
    '',
  ].join('\n');
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => ENTITIES[ch] ?? ch);
}
