/** The release version, shown by --version, the dashboard, the API and /metrics. */
export const VERSION = "0.1.0";
