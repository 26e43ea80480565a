// The directory of this module (CommonJS build; see module-dir.ts).
export const moduleDir: string = __dirname
