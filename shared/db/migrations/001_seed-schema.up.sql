-- The seed service's schema exactly as its SQLAlchemy models create it, so a database the seed
-- already wrote is adopted in place: every statement is a no-op where the object exists.
CREATE SEQUENCE IF NOT EXISTS exchange_no_seq START WITH 101;

CREATE TABLE IF NOT EXISTS tb_users (
    user_no SERIAL NOT NULL,
    PRIMARY KEY (user_no)
);

CREATE TABLE IF NOT EXISTS tb_exchanges (
    exchange_id INTEGER DEFAULT nextval('exchange_no_seq') NOT NULL,
    exchange_name VARCHAR(20) NOT NULL,
    PRIMARY KEY (exchange_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS ix_tb_exchanges_exchange_name ON tb_exchanges (exchange_name);

CREATE TABLE IF NOT EXISTS tb_exchange_api_keys (
    key_no SERIAL NOT NULL,
    user_no INTEGER NOT NULL,
    exchange_id INTEGER NOT NULL,
    public_key JSONB NOT NULL,
    private_key JSONB NOT NULL,
    is_active BOOLEAN NOT NULL,
    create_date TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    update_date TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (key_no),
    CONSTRAINT uq_user_exchange UNIQUE (user_no, exchange_id),
    FOREIGN KEY (user_no) REFERENCES tb_users (user_no),
    FOREIGN KEY (exchange_id) REFERENCES tb_exchanges (exchange_id)
);

-- The seed's initialize_default_exchange: Coinone is 101.
INSERT INTO tb_exchanges (exchange_id, exchange_name) VALUES (101, 'Coinone') ON CONFLICT DO NOTHING;
-- Never move an adopted sequence backwards.
SELECT setval('exchange_no_seq', GREATEST((SELECT last_value FROM exchange_no_seq), (SELECT max(exchange_id) FROM tb_exchanges)), true);
