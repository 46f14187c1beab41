/** Defined (true) by the production bundle (build/bundle.mjs); absent under tsx and in tsc's output. */
declare const __GATEWAY_BUNDLE__: boolean | undefined;

/**
 * The folder the code runs from: src/ under tsx, dist/ in the production build. Files the code
 * reads at run time (migrations, pages) sit at the same place under both (the build copies
 * them), and are found from here rather than from each module's own URL: in the production
 * bundle every module shares one URL, dist/main.js, so `new URL('../../pages/…', import.meta.url)`
 * would point outside dist/.
 */
const APP_ROOT: URL = new URL(typeof __GATEWAY_BUNDLE__ === 'undefined' ? '../' : './', import.meta.url);

/** A file or folder under APP_ROOT, e.g. `appPath('db/migrations')`. */
export function appPath(relative: string): URL {
  return new URL(relative, APP_ROOT);
}
