"""The hub's SQLite schema, as the migrations that build it (hub/db.py applies them).

Append-only: each entry migrates the file from ``PRAGMA user_version`` i to i + 1, in
one transaction.  A released entry is never edited: a change is a new entry.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    """
    CREATE TABLE journal (
        id INTEGER PRIMARY KEY,
        type TEXT NOT NULL,           -- event | state | command | reply | alert
        ts REAL NOT NULL,             -- the device's or the hub's own time of the fact
        received REAL NOT NULL,       -- when the hub got or made it
        device TEXT,
        name TEXT,
        seq INTEGER,
        data TEXT NOT NULL            -- JSON
    );
    CREATE UNIQUE INDEX journal_dedupe ON journal(device, seq)
        WHERE type = 'event' AND seq IS NOT NULL;
    CREATE INDEX journal_device ON journal(device, id);
    CREATE INDEX journal_received ON journal(received);
    CREATE INDEX journal_type ON journal(type, name, id);

    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        journal_id INTEGER,
        stream TEXT NOT NULL,         -- sales | inventory | alerts | device_health | ...
        created REAL NOT NULL,
        data TEXT NOT NULL,
        sent REAL
    );
    CREATE INDEX outbox_pending ON outbox(stream, id) WHERE sent IS NULL;

    CREATE TABLE deadletter (
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        topic TEXT NOT NULL,
        device TEXT,
        reason TEXT NOT NULL,
        detail TEXT NOT NULL,
        size INTEGER NOT NULL,
        head BLOB NOT NULL            -- the first bytes of the payload
    );
    CREATE INDEX deadletter_device ON deadletter(device, reason);

    CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        zone TEXT,
        role TEXT,
        name TEXT,
        may_sleep INTEGER NOT NULL DEFAULT 0,
        config TEXT NOT NULL,
        online INTEGER,               -- NULL: never heard of
        since REAL,
        last_seen REAL,
        model TEXT,
        fw TEXT,
        removed INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE presence (
        id INTEGER PRIMARY KEY,
        device TEXT NOT NULL,
        ts REAL NOT NULL,
        online INTEGER NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE INDEX presence_device ON presence(device, id);

    CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        key TEXT NOT NULL,
        ts REAL NOT NULL,
        updated REAL NOT NULL,
        severity TEXT NOT NULL,
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        device TEXT,
        zone TEXT,
        data TEXT NOT NULL,
        status TEXT NOT NULL,         -- open | acknowledged | resolved
        count INTEGER NOT NULL DEFAULT 1,
        acked_by TEXT,
        acked_at REAL,
        resolved_at REAL
    );
    CREATE UNIQUE INDEX alerts_live_key ON alerts(key) WHERE status != 'resolved';
    CREATE INDEX alerts_status ON alerts(status, ts);
    """,
    # 2: the staff side of an alert (assignee, escalation, notes).
    """
    ALTER TABLE alerts ADD COLUMN assignee TEXT;
    ALTER TABLE alerts ADD COLUMN escalated_to TEXT;
    ALTER TABLE alerts ADD COLUMN escalated_at REAL;
    ALTER TABLE alerts ADD COLUMN resolved_by TEXT;
    CREATE TABLE alert_notes (
        id INTEGER PRIMARY KEY,
        alert_id TEXT NOT NULL,
        ts REAL NOT NULL,
        author TEXT NOT NULL,
        text TEXT NOT NULL
    );
    CREATE INDEX alert_notes_alert ON alert_notes(alert_id, id);
    """,
    # 3: store API bearer tokens (only their SHA-256 is kept) and the audit log of API writes.
    """
    CREATE TABLE api_tokens (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,    -- hex SHA-256 of the token
        scopes TEXT NOT NULL,         -- space separated: staff hq admin
        created REAL NOT NULL,
        last_used REAL,
        revoked REAL
    );
    CREATE UNIQUE INDEX api_tokens_name ON api_tokens(name) WHERE revoked IS NULL;
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        token TEXT,                   -- the token's name, NULL when none was valid
        method TEXT NOT NULL,
        path TEXT NOT NULL,
        body TEXT NOT NULL,           -- a short summary, secrets redacted
        status INTEGER NOT NULL,
        client TEXT
    );
    CREATE INDEX audit_token ON audit(token, id);
    """,
    # 4: rules engine side: store state flags, stock per item and zone, rule on/off overrides.
    """
    CREATE TABLE state_flags (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,          -- JSON scalar
        updated REAL NOT NULL,
        by TEXT NOT NULL              -- who set it: a rule, a token's name, the CLI
    );
    CREATE TABLE stock (
        item TEXT NOT NULL,
        zone TEXT NOT NULL,
        qty REAL NOT NULL,
        safe REAL,                    -- safe-stock level, NULL = none set
        updated REAL NOT NULL,
        PRIMARY KEY (item, zone)
    );
    CREATE TABLE rule_overrides (
        name TEXT PRIMARY KEY,
        enabled INTEGER NOT NULL,
        updated REAL NOT NULL
    );
    """,
    # 5: RFID gates: the item catalog (hub/catalog.py) and the paid registry (hub/paid.py).
    """
    CREATE TABLE items (
        gtin TEXT PRIMARY KEY,        -- GTIN-14
        name TEXT NOT NULL,
        price INTEGER NOT NULL,       -- minor units (fen, cents)
        currency TEXT NOT NULL,       -- ISO 4217
        unit TEXT NOT NULL,           -- each, or kg (price per kilogram)
        weight_g REAL,
        age_restricted INTEGER NOT NULL DEFAULT 0,
        tax_rate TEXT,                -- decimal string, e.g. 0.13
        updated REAL NOT NULL
    );
    CREATE TABLE paid (
        epc TEXT PRIMARY KEY,         -- upper-case hex
        sale_id TEXT NOT NULL,
        ts REAL NOT NULL
    );
    CREATE INDEX paid_sale ON paid(sale_id);
    CREATE TABLE paid_history (
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        epc TEXT NOT NULL,
        sale_id TEXT,
        action TEXT NOT NULL,         -- paid, or unpaid (refund, void)
        reason TEXT
    );
    CREATE INDEX paid_history_epc ON paid_history(epc, id);
    CREATE INDEX paid_history_sale ON paid_history(sale_id, id);
    """,
    # 6: cloud sync (hub/sync, docs/sync.md): acks, stream heads, inbox cursor, quarantine.
    """
    CREATE TABLE sync_state (
        key TEXT PRIMARY KEY,         -- origin, inbox_cursor, last_upload_ok, last_error, ...
        value TEXT NOT NULL
    );
    INSERT INTO sync_state(key, value) VALUES ('origin', lower(hex(randomblob(8))));
    CREATE TABLE sync_streams (
        stream TEXT PRIMARY KEY,
        acked_seq INTEGER NOT NULL DEFAULT 0,     -- the cloud holds the stream up to this outbox id
        acked_rows INTEGER NOT NULL DEFAULT 0,
        last_ack REAL,
        purged_seq INTEGER NOT NULL DEFAULT 0,    -- sent rows up to here are deleted locally
        dropped_rows INTEGER NOT NULL DEFAULT 0,  -- unsent rows dropped by the disk budget
        dropped_bytes INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE sync_acks (
        outbox_id INTEGER PRIMARY KEY,
        stream TEXT NOT NULL,
        status TEXT NOT NULL,         -- stored, duplicate, rejected or accepted
        reason TEXT,
        acked REAL NOT NULL
    );
    CREATE INDEX sync_acks_acked ON sync_acks(acked);
    CREATE INDEX outbox_unsent ON outbox(id) WHERE sent IS NULL;
    CREATE TABLE sync_inbox (
        version INTEGER PRIMARY KEY,
        type TEXT NOT NULL,
        key TEXT NOT NULL,
        op TEXT NOT NULL,
        status TEXT NOT NULL,         -- applied or quarantined
        applied REAL NOT NULL
    );
    CREATE TABLE sync_quarantine (
        version INTEGER PRIMARY KEY,
        type TEXT NOT NULL,
        key TEXT NOT NULL,
        data TEXT NOT NULL,           -- the change as received, JSON
        reason TEXT NOT NULL,
        ts REAL NOT NULL
    );
    CREATE TABLE sync_documents (
        type TEXT NOT NULL,           -- price, promotion, device, ... (latest version per key)
        key TEXT NOT NULL,
        version INTEGER NOT NULL,
        data TEXT NOT NULL,
        updated REAL NOT NULL,
        PRIMARY KEY (type, key)
    );
    CREATE TABLE sync_members (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        tier TEXT,
        vip INTEGER NOT NULL DEFAULT 0,
        account_manager TEXT,
        data TEXT NOT NULL,
        version INTEGER NOT NULL
    );
    CREATE TABLE sync_plates (
        plate TEXT PRIMARY KEY,       -- normalised: upper case, no spaces or dots
        member_id TEXT NOT NULL,
        version INTEGER NOT NULL
    );
    CREATE INDEX sync_plates_member ON sync_plates(member_id);
    """,
    # 7: shelf labels (hub/esl, docs/esl.md): prices per store group and zone with effective
    # times, promotions, HQ batches and their per-label progress, labels and binding history.
    """
    CREATE TABLE esl_prices (
        id INTEGER PRIMARY KEY,
        gtin TEXT NOT NULL,
        store_group TEXT NOT NULL,    -- '*' = every group
        zone TEXT NOT NULL,           -- '*' = every zone
        price INTEGER NOT NULL,       -- minor units
        currency TEXT NOT NULL,
        effective REAL NOT NULL,
        batch TEXT,
        created REAL NOT NULL
    );
    CREATE INDEX esl_prices_gtin ON esl_prices(gtin, effective);
    CREATE TABLE esl_promotions (
        id INTEGER PRIMARY KEY,
        gtin TEXT NOT NULL,
        store_group TEXT NOT NULL,
        zone TEXT NOT NULL,
        price INTEGER NOT NULL,
        start REAL NOT NULL,
        end_ts REAL NOT NULL,
        text TEXT,
        batch TEXT,
        created REAL NOT NULL
    );
    CREATE INDEX esl_promotions_gtin ON esl_promotions(gtin, start);
    CREATE TABLE esl_units (
        gtin TEXT PRIMARY KEY,
        content_qty REAL NOT NULL,    -- e.g. 500
        content_unit TEXT NOT NULL,   -- g kg ml L pc
        basis TEXT NOT NULL,          -- the unit price is per: kg, 100 g, L, 100 ml, pc
        updated REAL NOT NULL
    );
    CREATE TABLE esl_batches (
        id TEXT PRIMARY KEY,
        idem_key TEXT NOT NULL UNIQUE,
        request_hash TEXT NOT NULL,
        created REAL NOT NULL,
        by TEXT,
        effective REAL,
        prices INTEGER NOT NULL,
        promotions INTEGER NOT NULL,
        progress TEXT NOT NULL DEFAULT '{}',
        done REAL
    );
    CREATE TABLE esl_batch_labels (
        batch TEXT NOT NULL,
        label TEXT NOT NULL,
        state TEXT NOT NULL,          -- scheduled queued rendered sent confirmed failed skipped
        updated REAL NOT NULL,
        error TEXT,
        PRIMARY KEY (batch, label)
    ) WITHOUT ROWID;
    CREATE TABLE esl_labels (
        id TEXT PRIMARY KEY,
        ap TEXT,                      -- the access point that last heard it
        gtin TEXT,                    -- NULL: not bound
        template TEXT NOT NULL DEFAULT 'standard',
        panel TEXT,
        colors TEXT,
        zone TEXT,
        bound REAL,
        battery_mv INTEGER,
        rssi REAL,
        lqi INTEGER,
        temp_c REAL,
        fw TEXT,
        last_seen REAL,
        interval_s REAL,
        next_checkin REAL,
        shown_hash TEXT,              -- the hash the label last reported
        confirmed_hash TEXT,          -- the last update it confirmed
        confirmed_key TEXT,
        shown_price INTEGER,          -- the price drawn in confirmed_hash
        shown_currency TEXT,
        desired_hash TEXT,
        desired_key TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        failures INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        updated REAL NOT NULL
    );
    CREATE INDEX esl_labels_gtin ON esl_labels(gtin);
    CREATE TABLE esl_bindings (
        id INTEGER PRIMARY KEY,
        label TEXT NOT NULL,
        action TEXT NOT NULL,         -- bind | unbind
        gtin TEXT,
        template TEXT,
        panel TEXT,
        colors TEXT,
        zone TEXT,
        ts REAL NOT NULL,
        by TEXT
    );
    CREATE INDEX esl_bindings_label ON esl_bindings(label, id);
    """,
    # 8: self-checkout (hub/checkout, docs/checkout.md): payments, sales, e-invoice records,
    # refunds, stock locks of baskets being paid, learned bagging-area weights.
    """
    CREATE TABLE payments (
        id TEXT PRIMARY KEY,          -- chosen by the kiosk or the basket: retries reuse it
        device TEXT,
        basket TEXT NOT NULL,
        provider TEXT NOT NULL,
        amount INTEGER NOT NULL,      -- minor units
        currency TEXT NOT NULL,
        status TEXT NOT NULL,         -- pending succeeded failed expired cancelled
        qr TEXT,
        ref TEXT,
        error TEXT,
        created REAL NOT NULL,
        updated REAL NOT NULL,
        expires REAL NOT NULL,
        draft TEXT NOT NULL,          -- the sale to record when it succeeds (JSON)
        sale_id TEXT
    );
    CREATE INDEX payments_status ON payments(status, expires);
    CREATE TABLE sales (
        id TEXT PRIMARY KEY,
        payment_id TEXT NOT NULL UNIQUE,  -- one sale per payment, whatever retries
        ts REAL NOT NULL,
        device TEXT,
        member TEXT,
        currency TEXT NOT NULL,
        total INTEGER NOT NULL,
        data TEXT NOT NULL,
        receipt TEXT NOT NULL,
        journal_id INTEGER,
        settled INTEGER NOT NULL DEFAULT 0  -- stock decremented and EPCs marked paid
    );
    CREATE INDEX sales_ts ON sales(ts);
    CREATE INDEX sales_unsettled ON sales(settled) WHERE settled = 0;
    CREATE TABLE einvoices (
        id TEXT PRIMARY KEY,
        sale_id TEXT NOT NULL,
        kind TEXT NOT NULL,           -- blue, or red (reversing)
        refers TEXT,
        ts REAL NOT NULL,
        total INTEGER NOT NULL,
        data TEXT NOT NULL,
        current INTEGER NOT NULL      -- 1 for the blue record in force
    );
    CREATE INDEX einvoices_sale ON einvoices(sale_id, ts);
    CREATE TABLE refunds (
        id TEXT PRIMARY KEY,
        sale_id TEXT NOT NULL,
        ts REAL NOT NULL,
        amount INTEGER NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX refunds_sale ON refunds(sale_id);
    CREATE TABLE stock_locks (
        basket TEXT NOT NULL,
        item TEXT NOT NULL,           -- GTIN-14
        zone TEXT NOT NULL,
        qty REAL NOT NULL,
        created REAL NOT NULL,
        expires REAL NOT NULL,
        PRIMARY KEY (basket, item, zone)
    );
    CREATE TABLE item_weights (
        gtin TEXT PRIMARY KEY,
        n INTEGER NOT NULL,
        mean REAL NOT NULL,
        m2 REAL NOT NULL,             -- Welford running sum of squared deviations
        updated REAL NOT NULL
    );
    """,
    """
    -- vision (vision/): consent records, encrypted face embeddings, known plates.
    -- Consent rows are kept after withdrawal (proof of what was agreed and when)
    -- but the embeddings they allowed are deleted with the withdrawal.
    CREATE TABLE vision_consents (
        id INTEGER PRIMARY KEY,
        member TEXT NOT NULL,
        purpose TEXT NOT NULL,        -- face_recognition
        text_version TEXT NOT NULL,   -- the consent text the member agreed to
        granted REAL NOT NULL,
        granted_by TEXT NOT NULL,     -- who recorded it (staff token, app)
        channel TEXT NOT NULL,        -- kiosk, app, counter
        withdrawn REAL,
        withdrawn_by TEXT
    );
    CREATE INDEX vision_consents_member ON vision_consents(member, purpose);
    CREATE TABLE vision_faces (
        id INTEGER PRIMARY KEY,
        member TEXT NOT NULL,
        consent_id INTEGER NOT NULL REFERENCES vision_consents(id),
        created REAL NOT NULL,
        expires REAL NOT NULL,        -- retention: purged after this
        embedding BLOB NOT NULL       -- Fernet token, sealed with a key kept outside this file
    );
    CREATE INDEX vision_faces_member ON vision_faces(member);
    CREATE INDEX vision_faces_expires ON vision_faces(expires);
    CREATE TABLE vision_plates (
        plate TEXT PRIMARY KEY,       -- normalised
        member TEXT,
        label TEXT,
        tier TEXT,
        account_manager TEXT,
        added REAL NOT NULL
    );
    """,
    # cloud sync (docs/sync.md): devices HQ provisions live beside the store file's.
    """
    ALTER TABLE devices ADD COLUMN source TEXT NOT NULL DEFAULT 'config';  -- config | cloud
    """,
    # unmanned checkout (hub/unmanned, docs/unmanned.md): shopper sessions, used entry
    # tokens (replays refused across restarts) and the staff review queue.
    """
    CREATE TABLE unmanned_sessions (
        id TEXT PRIMARY KEY,
        opened REAL NOT NULL,
        state TEXT NOT NULL,          -- open billing closed timed_out
        member TEXT,
        data TEXT NOT NULL,           -- the session as JSON (cart with evidence)
        updated REAL NOT NULL
    );
    CREATE INDEX unmanned_sessions_state ON unmanned_sessions(state);
    CREATE TABLE unmanned_tokens (
        jti TEXT PRIMARY KEY,
        session TEXT NOT NULL,
        used REAL NOT NULL
    );
    CREATE TABLE unmanned_reviews (
        id TEXT PRIMARY KEY,
        session TEXT,
        created REAL NOT NULL,
        status TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX unmanned_reviews_status ON unmanned_reviews(status, created);
    """,
    # catalog seed files (hub/catalog.py): loaded again only when their content changed,
    # so a restart does not undo what HQ published since (cloud inbox ``catalog.item``).
    """
    CREATE TABLE catalog_seeds (
        path TEXT PRIMARY KEY,
        sha256 TEXT NOT NULL,
        items INTEGER NOT NULL,
        loaded REAL NOT NULL
    );
    """,
    # a session's reviews (a review shows staff what else the shopper was asked to pay)
    """
    CREATE INDEX unmanned_reviews_session ON unmanned_reviews(session, created);
    """,
]
