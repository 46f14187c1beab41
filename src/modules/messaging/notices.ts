import { escapeHtml, MUTED, page, pickLanguage } from './templates.js';

/**
 * Security notifications (ASVS 5.0 V6.3.7; NIST SP 800-63B-4 §4.6): mails that tell the user
 * what changed on the account, when, and from which IP and browser, and what to do if it was
 * not them. They never carry a secret: no code, token, link with a token or password.
 */
export type NoticeKind =
  | 'password_changed'
  | 'password_reset'
  | 'mfa_enabled'
  | 'mfa_disabled'
  | 'mfa_reset'
  | 'recovery_code_used'
  | 'recovery_codes_regenerated'
  | 'email_changed_old'
  | 'email_changed_new'
  | 'mfa_failures_warning'
  | 'mfa_locked';

export type NoticeMethod = 'TOTP' | 'SMS' | 'EMAIL';

/** What a notice may name besides the event: the factor, a count. */
export type NoticeParams = { method?: NoticeMethod; count?: number };

/** One language's wording. `a` is the app name, `p.method` the factor's localised name. */
type Strings = {
  subject: Record<NoticeKind, (a: string) => string>;
  what: Record<NoticeKind, (a: string, p: { method: string; count: number }) => string>;
  method: Record<NoticeMethod, string>;
  when: string;
  ip: string;
  device: string;
  notYou: (a: string) => string;
  locked: string;
};

const en: Strings = {
  subject: {
    password_changed: (a) => `Your ${a} password was changed`,
    password_reset: (a) => `Your ${a} password was reset`,
    mfa_enabled: (a) => `A sign-in method was added to your ${a} account`,
    mfa_disabled: (a) => `A sign-in method was removed from your ${a} account`,
    mfa_reset: (a) => `Two-step verification was turned off for your ${a} account`,
    recovery_code_used: (a) => `A recovery code was used for your ${a} account`,
    recovery_codes_regenerated: (a) => `New recovery codes were made for your ${a} account`,
    email_changed_old: (a) => `The email address of your ${a} account was changed`,
    email_changed_new: (a) => `This is now the email address of your ${a} account`,
    mfa_failures_warning: (a) => `Wrong codes were entered to sign in to your ${a} account`,
    mfa_locked: (a) => `Sign-in to your ${a} account is locked`,
  },
  what: {
    password_changed: (a) => `The password of your ${a} account was changed. Your other sessions were signed out.`,
    password_reset: (a) => `The password of your ${a} account was reset with a link sent to this address. Every session was signed out.`,
    mfa_enabled: (a, p) => `${p.method} was added as a second step for signing in to your ${a} account.`,
    mfa_disabled: (a, p) => `${p.method} was removed from the second step for signing in to your ${a} account.`,
    mfa_reset: (a) =>
      `An administrator turned off two-step verification for your ${a} account: you sign in with your password alone until you set it up again.`,
    recovery_code_used: (a, p) => `A recovery code was used to sign in to your ${a} account or to confirm a change. ${p.count} unused codes are left.`,
    recovery_codes_regenerated: (a) => `New recovery codes were made for your ${a} account; the old ones no longer work.`,
    email_changed_old: (a) => `An administrator changed the email address of your ${a} account: mails now go to the new address, not to this one.`,
    email_changed_new: (a) => `An administrator made this address the email address of your ${a} account.`,
    mfa_failures_warning: (a, p) =>
      `${p.count} wrong codes in a row were entered for the second step of signing in to your ${a} account. Whoever entered them knew your password.`,
    mfa_locked: (a, p) =>
      `After ${p.count} wrong codes in a row for the second step of signing in, sign-in to your ${a} account is locked. Whoever entered them knew your password.`,
  },
  method: { TOTP: 'An authenticator app', SMS: 'Codes by SMS', EMAIL: 'Codes by email' },
  when: 'When',
  ip: 'IP address',
  device: 'Browser or app',
  notYou: (a) =>
    `If this was you, there is nothing to do. If it was not, reset your password now with "Forgot password" on the ${a} sign-in page and contact support.`,
  locked:
    'To sign in again, reset your password with "Forgot password" on the sign-in page, or ask an administrator to unlock your account. Choose a new password: the old one is known to someone else.',
};

const de: Strings = {
  subject: {
    password_changed: (a) => `Ihr Passwort für ${a} wurde geändert`,
    password_reset: (a) => `Ihr Passwort für ${a} wurde zurückgesetzt`,
    mfa_enabled: (a) => `Ihrem Konto bei ${a} wurde eine Anmeldemethode hinzugefügt`,
    mfa_disabled: (a) => `Von Ihrem Konto bei ${a} wurde eine Anmeldemethode entfernt`,
    mfa_reset: (a) => `Die Zwei-Schritt-Anmeldung Ihres Kontos bei ${a} wurde ausgeschaltet`,
    recovery_code_used: (a) => `Für Ihr Konto bei ${a} wurde ein Wiederherstellungscode verwendet`,
    recovery_codes_regenerated: (a) => `Für Ihr Konto bei ${a} wurden neue Wiederherstellungscodes erstellt`,
    email_changed_old: (a) => `Die E-Mail-Adresse Ihres Kontos bei ${a} wurde geändert`,
    email_changed_new: (a) => `Dies ist jetzt die E-Mail-Adresse Ihres Kontos bei ${a}`,
    mfa_failures_warning: (a) => `Für Ihr Konto bei ${a} wurden falsche Anmeldecodes eingegeben`,
    mfa_locked: (a) => `Die Anmeldung bei Ihrem Konto bei ${a} ist gesperrt`,
  },
  what: {
    password_changed: (a) => `Das Passwort Ihres Kontos bei ${a} wurde geändert. Ihre anderen Sitzungen wurden abgemeldet.`,
    password_reset: (a) =>
      `Das Passwort Ihres Kontos bei ${a} wurde über einen an diese Adresse gesendeten Link zurückgesetzt. Alle Sitzungen wurden abgemeldet.`,
    mfa_enabled: (a, p) => `${p.method} wurde als zweiter Anmeldeschritt für Ihr Konto bei ${a} hinzugefügt.`,
    mfa_disabled: (a, p) => `${p.method} wurde als zweiter Anmeldeschritt für Ihr Konto bei ${a} entfernt.`,
    mfa_reset: (a) =>
      `Ein Administrator hat die Zwei-Schritt-Anmeldung Ihres Kontos bei ${a} ausgeschaltet: Sie melden sich nur mit dem Passwort an, bis Sie sie wieder einrichten.`,
    recovery_code_used: (a, p) =>
      `Mit einem Wiederherstellungscode wurde sich bei Ihrem Konto bei ${a} angemeldet oder eine Änderung bestätigt. Es bleiben ${p.count} unbenutzte Codes.`,
    recovery_codes_regenerated: (a) => `Für Ihr Konto bei ${a} wurden neue Wiederherstellungscodes erstellt; die alten gelten nicht mehr.`,
    email_changed_old: (a) =>
      `Ein Administrator hat die E-Mail-Adresse Ihres Kontos bei ${a} geändert: E-Mails gehen jetzt an die neue Adresse, nicht mehr an diese.`,
    email_changed_new: (a) => `Ein Administrator hat diese Adresse zur E-Mail-Adresse Ihres Kontos bei ${a} gemacht.`,
    mfa_failures_warning: (a, p) =>
      `Beim zweiten Anmeldeschritt für Ihr Konto bei ${a} wurden ${p.count} falsche Codes nacheinander eingegeben. Wer sie eingab, kannte Ihr Passwort.`,
    mfa_locked: (a, p) =>
      `Nach ${p.count} falschen Codes nacheinander beim zweiten Anmeldeschritt ist die Anmeldung bei Ihrem Konto bei ${a} gesperrt. Wer sie eingab, kannte Ihr Passwort.`,
  },
  method: { TOTP: 'Eine Authenticator-App', SMS: 'Codes per SMS', EMAIL: 'Codes per E-Mail' },
  when: 'Wann',
  ip: 'IP-Adresse',
  device: 'Browser oder App',
  notYou: (a) =>
    `Wenn Sie das waren, ist nichts zu tun. Wenn nicht, setzen Sie Ihr Passwort jetzt mit „Passwort vergessen“ auf der Anmeldeseite von ${a} zurück und wenden Sie sich an den Support.`,
  locked:
    'Um sich wieder anzumelden, setzen Sie Ihr Passwort mit „Passwort vergessen“ auf der Anmeldeseite zurück oder bitten Sie einen Administrator, Ihr Konto zu entsperren. Wählen Sie ein neues Passwort: Das alte kennt jemand anderes.',
};

const fr: Strings = {
  subject: {
    password_changed: (a) => `Votre mot de passe ${a} a été modifié`,
    password_reset: (a) => `Votre mot de passe ${a} a été réinitialisé`,
    mfa_enabled: (a) => `Une méthode de connexion a été ajoutée à votre compte ${a}`,
    mfa_disabled: (a) => `Une méthode de connexion a été retirée de votre compte ${a}`,
    mfa_reset: (a) => `La validation en deux étapes de votre compte ${a} a été désactivée`,
    recovery_code_used: (a) => `Un code de récupération a été utilisé pour votre compte ${a}`,
    recovery_codes_regenerated: (a) => `De nouveaux codes de récupération ont été créés pour votre compte ${a}`,
    email_changed_old: (a) => `L'adresse e-mail de votre compte ${a} a été modifiée`,
    email_changed_new: (a) => `Cette adresse est désormais celle de votre compte ${a}`,
    mfa_failures_warning: (a) => `Des codes de connexion erronés ont été saisis pour votre compte ${a}`,
    mfa_locked: (a) => `La connexion à votre compte ${a} est bloquée`,
  },
  what: {
    password_changed: (a) => `Le mot de passe de votre compte ${a} a été modifié. Vos autres sessions ont été déconnectées.`,
    password_reset: (a) =>
      `Le mot de passe de votre compte ${a} a été réinitialisé avec un lien envoyé à cette adresse. Toutes les sessions ont été déconnectées.`,
    mfa_enabled: (a, p) => `${p.method} : ajouté comme seconde étape de connexion à votre compte ${a}.`,
    mfa_disabled: (a, p) => `${p.method} : retiré de la seconde étape de connexion à votre compte ${a}.`,
    mfa_reset: (a) =>
      `Un administrateur a désactivé la validation en deux étapes de votre compte ${a} : vous vous connectez avec votre seul mot de passe jusqu'à ce que vous la configuriez de nouveau.`,
    recovery_code_used: (a, p) =>
      `Un code de récupération a servi à se connecter à votre compte ${a} ou à confirmer une modification. Il reste ${p.count} codes inutilisés.`,
    recovery_codes_regenerated: (a) => `De nouveaux codes de récupération ont été créés pour votre compte ${a} ; les anciens ne fonctionnent plus.`,
    email_changed_old: (a) =>
      `Un administrateur a modifié l'adresse e-mail de votre compte ${a} : les e-mails partent désormais vers la nouvelle adresse, plus vers celle-ci.`,
    email_changed_new: (a) => `Un administrateur a fait de cette adresse l'adresse e-mail de votre compte ${a}.`,
    mfa_failures_warning: (a, p) =>
      `${p.count} codes erronés d'affilée ont été saisis à la seconde étape de connexion à votre compte ${a}. La personne qui les a saisis connaissait votre mot de passe.`,
    mfa_locked: (a, p) =>
      `Après ${p.count} codes erronés d'affilée à la seconde étape de connexion, la connexion à votre compte ${a} est bloquée. La personne qui les a saisis connaissait votre mot de passe.`,
  },
  method: { TOTP: "Une application d'authentification", SMS: 'Les codes par SMS', EMAIL: 'Les codes par e-mail' },
  when: 'Quand',
  ip: 'Adresse IP',
  device: 'Navigateur ou application',
  notYou: (a) =>
    `Si c'était vous, vous n'avez rien à faire. Sinon, réinitialisez dès maintenant votre mot de passe avec « Mot de passe oublié » sur la page de connexion de ${a} et contactez le support.`,
  locked:
    "Pour vous reconnecter, réinitialisez votre mot de passe avec « Mot de passe oublié » sur la page de connexion, ou demandez à un administrateur de débloquer votre compte. Choisissez un nouveau mot de passe : quelqu'un d'autre connaît l'ancien.",
};

const es: Strings = {
  subject: {
    password_changed: (a) => `Se ha cambiado tu contraseña de ${a}`,
    password_reset: (a) => `Se ha restablecido tu contraseña de ${a}`,
    mfa_enabled: (a) => `Se ha añadido un método de inicio de sesión a tu cuenta de ${a}`,
    mfa_disabled: (a) => `Se ha quitado un método de inicio de sesión de tu cuenta de ${a}`,
    mfa_reset: (a) => `Se ha desactivado la verificación en dos pasos de tu cuenta de ${a}`,
    recovery_code_used: (a) => `Se ha usado un código de recuperación de tu cuenta de ${a}`,
    recovery_codes_regenerated: (a) => `Se han creado nuevos códigos de recuperación para tu cuenta de ${a}`,
    email_changed_old: (a) => `Se ha cambiado la dirección de correo de tu cuenta de ${a}`,
    email_changed_new: (a) => `Esta es ahora la dirección de correo de tu cuenta de ${a}`,
    mfa_failures_warning: (a) => `Se han introducido códigos de inicio de sesión erróneos en tu cuenta de ${a}`,
    mfa_locked: (a) => `El inicio de sesión en tu cuenta de ${a} está bloqueado`,
  },
  what: {
    password_changed: (a) => `Se ha cambiado la contraseña de tu cuenta de ${a}. Se han cerrado tus otras sesiones.`,
    password_reset: (a) => `Se ha restablecido la contraseña de tu cuenta de ${a} con un enlace enviado a esta dirección. Se han cerrado todas las sesiones.`,
    mfa_enabled: (a, p) => `${p.method}: añadido como segundo paso para iniciar sesión en tu cuenta de ${a}.`,
    mfa_disabled: (a, p) => `${p.method}: quitado del segundo paso para iniciar sesión en tu cuenta de ${a}.`,
    mfa_reset: (a) =>
      `Un administrador ha desactivado la verificación en dos pasos de tu cuenta de ${a}: inicias sesión solo con tu contraseña hasta que la configures de nuevo.`,
    recovery_code_used: (a, p) =>
      `Se ha usado un código de recuperación para iniciar sesión en tu cuenta de ${a} o para confirmar un cambio. Quedan ${p.count} códigos sin usar.`,
    recovery_codes_regenerated: (a) => `Se han creado nuevos códigos de recuperación para tu cuenta de ${a}; los antiguos ya no funcionan.`,
    email_changed_old: (a) =>
      `Un administrador ha cambiado la dirección de correo de tu cuenta de ${a}: los correos van ahora a la nueva dirección, no a esta.`,
    email_changed_new: (a) => `Un administrador ha hecho de esta dirección la dirección de correo de tu cuenta de ${a}.`,
    mfa_failures_warning: (a, p) =>
      `Se han introducido ${p.count} códigos erróneos seguidos en el segundo paso para iniciar sesión en tu cuenta de ${a}. Quien los introdujo conocía tu contraseña.`,
    mfa_locked: (a, p) =>
      `Tras ${p.count} códigos erróneos seguidos en el segundo paso, el inicio de sesión en tu cuenta de ${a} está bloqueado. Quien los introdujo conocía tu contraseña.`,
  },
  method: { TOTP: 'Una aplicación de autenticación', SMS: 'Los códigos por SMS', EMAIL: 'Los códigos por correo' },
  when: 'Cuándo',
  ip: 'Dirección IP',
  device: 'Navegador o aplicación',
  notYou: (a) =>
    `Si has sido tú, no tienes que hacer nada. Si no, restablece ya tu contraseña con «¿Has olvidado tu contraseña?» en la página de inicio de sesión de ${a} y contacta con el soporte.`,
  locked:
    'Para volver a iniciar sesión, restablece tu contraseña con «¿Has olvidado tu contraseña?» en la página de inicio de sesión o pide a un administrador que desbloquee tu cuenta. Elige una contraseña nueva: otra persona conoce la antigua.',
};

const LANGUAGES: Record<string, Strings> = { en, de, fr, es };

/** Who caused the event: the user's own request (its IP and user agent, when known) or an administrator (whose IP is not the user's business; the wording names the administrator). */
export type NoticeContext = { at: number; ip: string | null; userAgent: string | null; byAdmin?: boolean };

/** A user agent is the client's to choose: one line, bounded. */
const clip = (value: string) => value.replace(/[\r\n\t]+/g, ' ').slice(0, 200);

/** Renders a notice in the user's language (English for any other). */
export function renderNotice(
  kind: NoticeKind,
  input: { appName: string; language: string | null | undefined; params?: NoticeParams; context: NoticeContext },
): { subject: string; text: string; html: string } {
  const lang = pickLanguage(input.language);
  const s = LANGUAGES[lang] ?? en;
  const app = input.appName;
  const { context } = input;
  const params = { method: s.method[input.params?.method ?? 'TOTP'], count: input.params?.count ?? 0 };
  const subject = s.subject[kind](app);
  const what = s.what[kind](app, params);
  const details: Array<[string, string]> = [[s.when, `${new Date(context.at).toISOString().slice(0, 16).replace('T', ' ')} UTC`]];
  if (!context.byAdmin && context.ip) details.push([s.ip, context.ip]);
  if (!context.byAdmin && context.userAgent) details.push([s.device, clip(context.userAgent)]);
  const advice = kind === 'mfa_locked' ? s.locked : s.notYou(app);
  const text = [what, '', ...details.map(([k, v]) => `${k}: ${v}`), '', advice, '', `— ${app}`, ''].join('\n');
  const html = page(lang, subject, [
    `<p>${escapeHtml(what)}</p>`,
    `<p>${details.map(([k, v]) => `<strong>${escapeHtml(k)}:</strong> ${escapeHtml(v)}`).join('<br>')}</p>`,
    `<p>${escapeHtml(advice)}</p>`,
    `<p style="${MUTED}">— ${escapeHtml(app)}</p>`,
  ]);
  return { subject, text, html };
}
