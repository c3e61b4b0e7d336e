// Handlers log every rejected request; tests that read logs set their own level before importing.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
// Embedded metrics are JSON lines on stdout; tests that count them switch them on before importing.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
