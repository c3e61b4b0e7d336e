-- Additive only: seed rows keep every value they had.

-- A token's `sub` names its user; seed users have none until they are linked.
ALTER TABLE tb_users ADD COLUMN IF NOT EXISTS auth_subject TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS uq_tb_users_auth_subject ON tb_users (auth_subject);

-- Display masks, computed once at registration so that reads never decrypt.
-- NULL on rows adopted from the seed until the re-encryption job fills them.
ALTER TABLE tb_exchange_api_keys
    ADD COLUMN IF NOT EXISTS public_key_masked TEXT,
    ADD COLUMN IF NOT EXISTS private_key_masked TEXT;

-- The seed set this default in Python, not in the database.
ALTER TABLE tb_exchange_api_keys ALTER COLUMN is_active SET DEFAULT true;

-- Exchange names are unique regardless of letter case ("Binance" and "binance" are one exchange).
CREATE UNIQUE INDEX IF NOT EXISTS uq_tb_exchanges_exchange_name_ci ON tb_exchanges (lower(exchange_name));
