// Kept in step with package.json by test/shared/version.spec.ts; a literal avoids reading
// package.json at run time from inside a bundle.
export const APP_VERSION = '0.1.0'
