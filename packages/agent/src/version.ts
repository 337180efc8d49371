/** The agent's version, sent in its hello and printed by --version. */
export const VERSION = '0.1.0';
