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
            for table in Schema.all {
                try db.execute(sql: table.createSQL)
            }
            try db.execute(
                sql: """
                    ALTER TABLE issues ADD COLUMN _status TEXT NOT NULL DEFAULT 'reported';
                    ALTER TABLE issues ADD COLUMN _tier TEXT;
                    CREATE INDEX issue_events_issue ON issue_events(issue_id);
                    CREATE INDEX photo_refs_owner ON photo_refs(owner_id);
                    CREATE INDEX conflicts_row ON conflicts(row_id);
                    CREATE VIRTUAL TABLE household_search USING fts5(
                        words, chars, tokenize = "unicode61 categories 'L* N* Co M*' remove_diacritics 0");
                    CREATE VIRTUAL TABLE issue_search USING fts5(
                        words, chars, tokenize = "unicode61 categories 'L* N* Co M*' remove_diacritics 0");
                    """)
        }
        return migrator
    }
}
