/** The collector's version, printed by --version and exported in tcpfleet_build_info. */
export const VERSION = '0.1.0';
