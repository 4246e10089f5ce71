-- Catalog: services with a standard and a premium plan. Titles and
-- descriptions are shop content in several languages ({"zh-TW": ..., "en": ...});
-- interface words live in locales/.
CREATE TABLE services (
    id          bigserial PRIMARY KEY,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9-]{1,64}$'),
    title       jsonb NOT NULL,
    description jsonb NOT NULL DEFAULT '{}',
    position    integer NOT NULL DEFAULT 0,
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);

--bun:split

CREATE TABLE plans (
    id            bigserial PRIMARY KEY,
    service_id    bigint NOT NULL REFERENCES services (id),
    tier          text NOT NULL CHECK (tier IN ('standard', 'premium')),
    title         jsonb NOT NULL,
    description   jsonb NOT NULL DEFAULT '{}',
    price         bigint NOT NULL CHECK (price > 0),          -- integer TWD
    delivery_days integer NOT NULL CHECK (delivery_days > 0),
    active        boolean NOT NULL DEFAULT true,
    UNIQUE (service_id, tier)
);

--bun:split

-- Orders keep their own number for life; every payment try is an attempt
-- with its own merchant trade number (ECPay refuses a reused one).
CREATE TABLE orders (
    id                 bigserial PRIMARY KEY,
    order_no           text NOT NULL UNIQUE,
    access_token       text NOT NULL,
    plan_id            bigint NOT NULL REFERENCES plans (id),
    amount             bigint NOT NULL CHECK (amount > 0),    -- integer TWD
    currency           text NOT NULL DEFAULT 'TWD' CHECK (currency = 'TWD'),
    gateway            text NOT NULL,
    method             text NOT NULL,
    status             text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'awaiting_payment', 'paid', 'failed', 'expired', 'refunded')),
    lang               text NOT NULL DEFAULT 'zh-TW',
    current_attempt_id bigint,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    paid_at            timestamptz,
    failed_at          timestamptz
);
CREATE INDEX orders_status_created_idx ON orders (status, created_at DESC);

--bun:split

CREATE TABLE payment_attempts (
    id                bigserial PRIMARY KEY,
    order_id          bigint NOT NULL REFERENCES orders (id),
    seq               integer NOT NULL,
    gateway           text NOT NULL,
    method            text NOT NULL,
    merchant_id       text NOT NULL,
    merchant_trade_no text NOT NULL,
    gateway_trade_no  text NOT NULL DEFAULT '',
    amount            bigint NOT NULL CHECK (amount > 0),
    status            text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'awaiting_payment', 'paid', 'failed', 'expired')),
    pay_url           text NOT NULL DEFAULT '',
    result_code       text NOT NULL DEFAULT '',
    payment_type      text NOT NULL DEFAULT '',
    card6             text NOT NULL DEFAULT '' CHECK (card6 ~ '^[0-9]{0,6}$'),
    card4             text NOT NULL DEFAULT '' CHECK (card4 ~ '^[0-9]{0,4}$'),
    info              jsonb NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (gateway, merchant_trade_no),
    UNIQUE (order_id, seq)
);

ALTER TABLE orders ADD CONSTRAINT orders_current_attempt_fk
    FOREIGN KEY (current_attempt_id) REFERENCES payment_attempts (id);

--bun:split

-- Every inbound callback, raw, with what we made of it.
CREATE TABLE events (
    id                bigserial PRIMARY KEY,
    gateway           text NOT NULL,
    kind              text NOT NULL,
    body              text NOT NULL,
    verdict           text NOT NULL CHECK (verdict IN ('applied', 'duplicate', 'ignored', 'rejected')),
    reason            text NOT NULL DEFAULT '',
    merchant_trade_no text NOT NULL DEFAULT '',
    order_id          bigint REFERENCES orders (id),
    attempt_id        bigint REFERENCES payment_attempts (id),
    remote_addr       text NOT NULL DEFAULT '',
    received_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_order_idx ON events (order_id, received_at);
CREATE INDEX events_received_idx ON events (received_at DESC);

--bun:split

-- Status history, one row per transition.
CREATE TABLE status_changes (
    id         bigserial PRIMARY KEY,
    order_id   bigint NOT NULL REFERENCES orders (id),
    from_status text NOT NULL,
    to_status  text NOT NULL,
    event_id   bigint REFERENCES events (id),
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX status_changes_order_idx ON status_changes (order_id, id);

--bun:split

-- Side effects (confirmation mail, seat counts) are queued here in the same
-- transaction as the transition, so they happen exactly once.
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    topic        text NOT NULL,
    order_id     bigint NOT NULL REFERENCES orders (id),
    attempt_id   bigint REFERENCES payment_attempts (id),
    payload      jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz,
    UNIQUE (topic, order_id, attempt_id)
);

--bun:split

CREATE TABLE admin_users (
    id            bigserial PRIMARY KEY,
    email         text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz
);
