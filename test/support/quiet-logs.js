// Handlers log every rejected request; tests that read logs set their own level before importing.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
