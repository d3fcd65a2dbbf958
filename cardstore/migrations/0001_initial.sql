-- Initial schema of the card-block store (design §5).
-- PCI DSS 3.4.1: no column here can hold a full card number, a CVV or a PIN.
-- Cards are known by last4 char(4) only; every other card column is a short
-- enumerated value with a CHECK.

CREATE TABLE customers (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Core-banking reference the customer was imported with (customer_ref).
    external_ref text UNIQUE CHECK (external_ref ~ '^[A-Za-z0-9._:-]{1,64}$'),
    full_name   text NOT NULL CHECK (length(full_name) BETWEEN 1 AND 200),
    phone_e164  text NOT NULL UNIQUE CHECK (phone_e164 ~ '^\+[1-9][0-9]{6,14}$'),
    email       text CHECK (length(email) <= 254 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    national_id text UNIQUE CHECK (national_id ~ '^([0-9]{8}|[XYZ][0-9]{7})[A-Z]$'),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- fillfactor leaves room on each page so that blocking a card (which changes
-- no indexed column) is a HOT update.
CREATE TABLE cards (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id     bigint NOT NULL REFERENCES customers (id),
    last4           char(4) NOT NULL CHECK (last4 ~ '^[0-9]{4}$'),
    brand           text NOT NULL CHECK (brand IN ('Visa', 'Mastercard')),
    kind            text NOT NULL CHECK (kind IN ('debit', 'credit')),
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked', 'cancelled')),
    blocked_at      timestamptz,
    block_reason    text CHECK (block_reason IN ('lost', 'stolen', 'fraud', 'damaged', 'other')),
    -- Points at the audit row; the foreign key is added below (the tables refer to each other).
    block_reference text,
    CHECK (status <> 'blocked' OR blocked_at IS NOT NULL),
    -- Lets verifications and blocks check that a card belongs to the customer.
    UNIQUE (id, customer_id)
) WITH (fillfactor = 85);

-- Serves "this customer's active cards ending in NNNN" and the lookup of any
-- status that verification needs (a customer has a handful of cards, so the
-- status filter is free). Deliberately no partial index on status: keeping
-- status out of every index lets a block be a HOT update.
CREATE INDEX cards_customer_last4 ON cards (customer_id, last4);

CREATE TABLE verifications (
    conversation_key text PRIMARY KEY CHECK (length(conversation_key) BETWEEN 1 AND 200),
    customer_id      bigint NOT NULL,
    card_id          bigint NOT NULL,
    verified_at      timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    CHECK (expires_at > verified_at),
    FOREIGN KEY (card_id, customer_id) REFERENCES cards (id, customer_id)
);

CREATE TABLE verification_failures (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_key text NOT NULL CHECK (length(conversation_key) BETWEEN 1 AND 200),
    customer_id      bigint REFERENCES customers (id), -- NULL: the caller was not identified
    at               timestamptz NOT NULL
);
CREATE INDEX verification_failures_conversation ON verification_failures (conversation_key);
CREATE INDEX verification_failures_customer ON verification_failures (customer_id, at) WHERE customer_id IS NOT NULL;

-- Append-only audit of blocks (see the trigger below).
CREATE TABLE card_blocks (
    block_reference  text PRIMARY KEY CHECK (block_reference ~ '^BLK-[0-9A-Z]{6}$'),
    card_id          bigint NOT NULL,
    customer_id      bigint NOT NULL,
    conversation_key text NOT NULL CHECK (length(conversation_key) BETWEEN 1 AND 200),
    reason           text NOT NULL CHECK (reason IN ('lost', 'stolen', 'fraud', 'damaged', 'other')),
    block_type       text NOT NULL CHECK (block_type IN ('temporary', 'permanent')),
    channel          text NOT NULL CHECK (length(channel) BETWEEN 1 AND 32),
    call_id          text CHECK (length(call_id) <= 200),
    -- When the caller asked: under RDL 19/2018 liability ends at notification.
    requested_at     timestamptz NOT NULL,
    blocked_at       timestamptz NOT NULL,
    FOREIGN KEY (card_id, customer_id) REFERENCES cards (id, customer_id)
);
CREATE INDEX card_blocks_card ON card_blocks (card_id);

ALTER TABLE cards ADD CONSTRAINT cards_block_reference_fkey
    FOREIGN KEY (block_reference) REFERENCES card_blocks (block_reference);

-- The owner can always UPDATE and DELETE its own tables, so REVOKE cannot make
-- the audit append-only; a trigger can.
CREATE FUNCTION card_blocks_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'card_blocks is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER card_blocks_no_update_delete BEFORE UPDATE OR DELETE ON card_blocks
    FOR EACH ROW EXECUTE FUNCTION card_blocks_append_only();
CREATE TRIGGER card_blocks_no_truncate BEFORE TRUNCATE ON card_blocks
    FOR EACH STATEMENT EXECUTE FUNCTION card_blocks_append_only();

CREATE TABLE ticket_outbox (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key     text NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    conversation_key    text NOT NULL CHECK (length(conversation_key) BETWEEN 1 AND 200),
    kind                text NOT NULL CHECK (kind IN ('block', 'handoff', 'followup')),
    payload             jsonb NOT NULL CHECK (jsonb_typeof(payload) = 'object'),
    state               text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'uncertain', 'delivered', 'dead')),
    attempts            integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at     timestamptz NOT NULL,
    freshdesk_ticket_id bigint CHECK (freshdesk_ticket_id > 0),
    last_error          text CHECK (length(last_error) <= 2000),
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    CHECK (state <> 'delivered' OR freshdesk_ticket_id IS NOT NULL)
);
-- The worker's claim query and the pending gauges read only undelivered rows.
CREATE INDEX ticket_outbox_due ON ticket_outbox (next_attempt_at, id) WHERE state IN ('pending', 'uncertain');
CREATE INDEX ticket_outbox_dead ON ticket_outbox (id) WHERE state = 'dead';
CREATE INDEX ticket_outbox_conversation ON ticket_outbox (conversation_key, id);
