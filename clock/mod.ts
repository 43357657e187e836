/**
 * The service's one clock (see `clock.ts`).
 *
 * @module
 */
export { Clock, CLOCK_TICK_MS_DEFAULT, type ClockOptions, type Timeout } from "./clock.ts";
