import GRDB

/// The replica's schema as named, append-only migration steps. Never edit a step that shipped:
/// add a new one.
enum ReplicaMigrations {
    static func migrator(site: SiteID) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-replica") { db in
            try db.execute(
                sql: """
                    CREATE TABLE replica_meta (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        site TEXT NOT NULL,
                        hlc INTEGER NOT NULL,
                        local_version INTEGER NOT NULL,
                        search_version INTEGER NOT NULL,
                        clock_offset_millis INTEGER NOT NULL DEFAULT 0);
                    CREATE TABLE change_log (
                        lv INTEGER PRIMARY KEY,
                        tbl INTEGER NOT NULL,
                        row_id TEXT NOT NULL,
                        grid TEXT NOT NULL);
                    CREATE INDEX change_log_grid ON change_log(grid, lv);
                    CREATE TABLE peer_cursors (
                        peer TEXT PRIMARY KEY NOT NULL,
                        acknowledged INTEGER NOT NULL DEFAULT 0,
                        pulled INTEGER NOT NULL DEFAULT 0,
                        last_sync_millis INTEGER,
                        clock_offset_millis INTEGER);
                    """)
            try db.execute(
                sql: "INSERT INTO replica_meta (id, site, hlc, local_version, search_version) VALUES (1, ?, 0, 0, 0)",
                arguments: [site.hex])
            // The synced tables as they shipped in v1; `Schema` must match (SchemaTests checks it).
            try db.execute(
                sql: """
                    CREATE TABLE grids (id TEXT PRIMARY KEY NOT NULL, grid TEXT NOT NULL, name_zh TEXT, name_bo TEXT, _clock BLOB NOT NULL, _lv INTEGER NOT NULL);
                    CREATE UNIQUE INDEX grids_lv ON grids(_lv);
                    CREATE TABLE households (id TEXT PRIMARY KEY NOT NULL, grid TEXT NOT NULL, door_plate TEXT, head_name_zh TEXT, head_name_bo TEXT, members INTEGER, phone TEXT, location TEXT, tags TEXT, notes TEXT, deleted INTEGER, _clock BLOB NOT NULL, _lv INTEGER NOT NULL);
                    CREATE UNIQUE INDEX households_lv ON households(_lv);
                    CREATE TABLE issues (id TEXT PRIMARY KEY NOT NULL, grid TEXT NOT NULL, kind TEXT, tier TEXT, title TEXT, description TEXT, household_id TEXT, location TEXT, reporter TEXT, handler TEXT, due_date TEXT, deleted INTEGER, _clock BLOB NOT NULL, _lv INTEGER NOT NULL);
                    CREATE UNIQUE INDEX issues_lv ON issues(_lv);
                    CREATE TABLE issue_events (id TEXT PRIMARY KEY NOT NULL, grid TEXT NOT NULL, issue_id TEXT, kind TEXT, at INTEGER, actor TEXT, note TEXT, tier TEXT, from_tier TEXT, satisfaction INTEGER, _clock BLOB NOT NULL, _lv INTEGER NOT NULL);
                    CREATE UNIQUE INDEX issue_events_lv ON issue_events(_lv);
                    CREATE TABLE photo_refs (id TEXT PRIMARY KEY NOT NULL, grid TEXT NOT NULL, owner_table TEXT, owner_id TEXT, sha256 TEXT, caption TEXT, byte_count INTEGER, deleted INTEGER, _clock BLOB NOT NULL, _lv INTEGER NOT NULL);
                    CREATE UNIQUE INDEX photo_refs_lv ON photo_refs(_lv);
                    CREATE TABLE conflicts (id TEXT PRIMARY KEY NOT NULL, grid TEXT NOT NULL, tbl TEXT, row_id TEXT, col TEXT, lost_value BLOB, lost_hlc INTEGER, lost_site TEXT, resolved INTEGER, resolved_by TEXT, resolution TEXT, _clock BLOB NOT NULL, _lv INTEGER NOT NULL);
                    CREATE UNIQUE INDEX conflicts_lv ON conflicts(_lv);
                    """)
            try db.execute(
                sql: """
                    ALTER TABLE issues ADD COLUMN _status TEXT NOT NULL DEFAULT 'reported';
                    ALTER TABLE issues ADD COLUMN _tier TEXT;
                    CREATE INDEX issue_events_issue ON issue_events(issue_id);
                    CREATE INDEX photo_refs_owner ON photo_refs(owner_id);
                    CREATE INDEX photo_refs_sha256 ON photo_refs(sha256);
                    CREATE INDEX conflicts_row ON conflicts(row_id);
                    CREATE VIRTUAL TABLE household_search USING fts5(
                        words, chars, tokenize = "unicode61 categories 'L* N* Co M*' remove_diacritics 0");
                    CREATE VIRTUAL TABLE issue_search USING fts5(
                        words, chars, tokenize = "unicode61 categories 'L* N* Co M*' remove_diacritics 0");
                    """)
        }
        migrator.registerMigration("v2-set-aside") { db in
            // Changes pulled from the server that this replica refused (kept whole, retried on
            // every sync), and pushed changes the server refused: nothing is dropped without a trace.
            try db.execute(
                sql: """
                    CREATE TABLE quarantine (
                        tbl TEXT NOT NULL, row_id TEXT NOT NULL, cols TEXT NOT NULL, changeset BLOB NOT NULL UNIQUE,
                        code TEXT NOT NULL, reason TEXT NOT NULL, received_millis INTEGER NOT NULL);
                    CREATE TABLE refused_pushes (
                        tbl TEXT NOT NULL, row_id TEXT NOT NULL, col TEXT NOT NULL, code TEXT NOT NULL, reason TEXT NOT NULL,
                        refused_millis INTEGER NOT NULL, PRIMARY KEY (tbl, row_id, col));
                    """)
        }
        migrator.registerMigration("v3-store-epoch") { db in
            // The epoch of the server's store this replica last synced with (protocol.md §4.3).
            try db.execute(sql: "ALTER TABLE peer_cursors ADD COLUMN store_epoch TEXT")
        }
        migrator.registerMigration("v4-former-sites") { db in
            // Site ids this replica wrote under before it took a new one (a copied device folder
            // adopted on another handheld): its writes under them are still its own to send.
            try db.execute(sql: "ALTER TABLE replica_meta ADD COLUMN former_sites TEXT NOT NULL DEFAULT ''")
        }
        migrator.registerMigration("v5-kept") { db in
            // Rows, columns and values this release does not know, kept as they came (one row of a
            // changeset each) and sent on in pulls under their local version (protocol.md §2.3).
            try db.execute(
                sql: """
                    CREATE TABLE kept (
                        id INTEGER PRIMARY KEY, changeset BLOB NOT NULL UNIQUE, tbl TEXT NOT NULL, row_id TEXT NOT NULL,
                        grid TEXT NOT NULL, lv INTEGER NOT NULL)
                    """)
        }
        migrator.registerMigration("v6-pull-own") { db in
            // Set while a replica restored from an older copy pulls its own writes back (protocol.md §4.3).
            try db.execute(sql: "ALTER TABLE peer_cursors ADD COLUMN pull_own INTEGER NOT NULL DEFAULT 0")
        }
        migrator.registerMigration("v7-order-loop") { db in
            // Document version 4: an issue's requester and channel, a dispatch's assignee. Each new
            // column is appended to its table, and every row's clock blob grows by one never-written
            // entry per column (`ColumnClocks`: 5 words of zeros; `||` gives text, hence the cast).
            let width = ColumnClocks.wordsPerColumn * 8
            try db.execute(
                sql: """
                    ALTER TABLE issues ADD COLUMN requester TEXT;
                    ALTER TABLE issues ADD COLUMN channel TEXT;
                    UPDATE issues SET _clock = CAST(_clock || zeroblob(\(2 * width)) AS BLOB);
                    ALTER TABLE issue_events ADD COLUMN assignee TEXT;
                    UPDATE issue_events SET _clock = CAST(_clock || zeroblob(\(width)) AS BLOB);
                    """)
        }
        return migrator
    }
}
