/**
 * Configuration: flags over `WORKNODE_*` environment variables over an optional JSON config
 * file over defaults, validated at boot into a frozen {@link Config}.
 *
 * @module
 */

export { parseByteSize } from "./byte_size.ts";
export { EXIT_CODE_USAGE, loadConfigOrExit } from "./cli.ts";
export { ConfigError } from "./config_error.ts";
export { helpText } from "./help.ts";
export { type Config, loadConfig, type LoadConfigOptions } from "./load.ts";
export {
  CONFIG_FILE_ENV,
  CONFIG_FILE_FLAG,
  type ConfigValues,
  LOG_LEVELS,
  type LogLevel,
  OPTIONS,
  type OptionSpec,
  POOL_BYTES_FLAG_MAX,
} from "./options.ts";
