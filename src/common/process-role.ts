/**
 * What this process is, set once by its entry point before the app is built: the service, or a
 * CLI command sharing the service's modules. A command does its one piece of work: it starts no
 * background jobs (the mail sender, the purger), and its log lines go to stderr, leaving stdout to
 * the command's own output.
 */
export const processRole = { cli: false };
