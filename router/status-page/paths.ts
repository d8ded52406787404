/** Where the status page and its assets are served; the relative links in index.html follow these. */
export const PAGE_PATHS = { page: '/', script: '/status/app.js', style: '/status/style.css', charts: '/status/chart.umd.min.js' } as const;
