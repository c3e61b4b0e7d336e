-- Exchanges that know what they are: `kind` names the exchange API a row speaks (docs/exchanges.md),
-- null where it is not known (rows adopted from the seed, or created without one). The list of
-- kinds is shared/exchanges/kinds.ts's; a kind added there needs a migration that replaces this check.
ALTER TABLE tb_exchanges
    ADD COLUMN IF NOT EXISTS kind TEXT
    CONSTRAINT ck_tb_exchanges_kind CHECK (kind IN ('binance', 'okx', 'bybit', 'coinbase', 'kraken', 'upbit', 'coinone', 'kucoin', 'bitget'));

-- The seed's one exchange. Only where nobody has said otherwise: an adopted database keeps its own.
UPDATE tb_exchanges SET kind = 'coinone' WHERE exchange_id = 101 AND exchange_name = 'Coinone' AND kind IS NULL;

-- create-exchange names a kind; set-exchange-kind changes only it. vault_reader and vault_engine
-- read tb_exchanges whole already (migrations 005, 009).
GRANT INSERT (kind) ON tb_exchanges TO vault_app;
GRANT UPDATE (kind) ON tb_exchanges TO vault_app;
