/**
 * Vendor data: the bundled presets (presets-data.ts, generated from
 * data/presets/ by scripts/gen-presets.mjs), a presetsFile, the
 * refresh-presets fetcher and the vendor range checks. Startup only. The
 * engine depends on this folder; nothing here imports from src/engine/.
 */
export { CLIENT_IP_HEADERS, type ClientIpHeader } from './client-ip-headers.js'
export {
  checkPlatform,
  expandVendorPreset,
  type Platform,
  PLATFORMS,
  type PresetContext,
  type PresetData,
  presetData,
  VENDOR_PRESETS,
} from './presets.js'
export { PRESETS_ENV, presetContextOf, type PresetsFile, type PresetsFileEntry } from './preset-file.js'
export {
  refreshPresets,
  type RefreshPresetsOptions,
  type RefreshResult,
  SNAPSHOT_FROM_TEXT,
} from './presets-refresh.js'
