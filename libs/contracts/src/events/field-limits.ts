// Upper bounds for payload strings. Generous, but finite: an event must fit in one NATS message
// (1 MiB by default) and a bounded field cannot be used to flood the ledger or the SOC feed.
export const ID_MAX = 128;
export const NAME_MAX = 256;
export const REASON_MAX = 4096;
export const PATH_MAX = 4096;
export const COMMAND_MAX = 65_536;
export const CONTENT_MAX = 512 * 1024;
export const LIST_MAX = 64;
