-- gh-ost's statement sequence up to its cut-over (changelog, ghost, ALTER, chunked row copy).
CREATE TABLE _items_ghc (id BIGINT UNSIGNED AUTO_INCREMENT, last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, hint VARCHAR(64) CHARSET ascii NOT NULL, value VARCHAR(4096) CHARSET ascii NOT NULL, PRIMARY KEY (id), UNIQUE KEY hint_uidx (hint)) AUTO_INCREMENT=256 ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT /* gh-ost */ INTO _items_ghc (id, hint, value) VALUES (NULLIF(2, 0), 'state', 'GhostTableMigrated') ON DUPLICATE KEY UPDATE last_update = NOW(), value = VALUES(value);
CREATE /* gh-ost */ TABLE _items_gho LIKE items;
ALTER /* gh-ost */ TABLE _items_gho ADD COLUMN note VARCHAR(20) NOT NULL DEFAULT 'n', ADD KEY qty_idx (qty);
INSERT /* gh-ost */ INTO _items_ghc (id, hint, value) VALUES (NULLIF(1, 0), 'heartbeat', '2026-01-01T00:00:00') ON DUPLICATE KEY UPDATE last_update = NOW(), value = VALUES(value);
INSERT /* gh-ost */ IGNORE INTO _items_gho (id, qty, label) SELECT id, qty, label FROM items FORCE INDEX (PRIMARY) WHERE id >= 1 AND id <= 100 LOCK IN SHARE MODE;
INSERT /* gh-ost */ IGNORE INTO _items_gho (id, qty, label) SELECT id, qty, label FROM items FORCE INDEX (PRIMARY) WHERE id > 100 AND id <= 200 LOCK IN SHARE MODE;
INSERT /* gh-ost */ IGNORE INTO _items_gho (id, qty, label) SELECT id, qty, label FROM items FORCE INDEX (PRIMARY) WHERE id > 200 AND id <= 100000000 LOCK IN SHARE MODE;
INSERT /* gh-ost */ INTO _items_ghc (id, hint, value) VALUES (NULLIF(2, 0), 'state', 'AllEventsUpToLockProcessed') ON DUPLICATE KEY UPDATE last_update = NOW(), value = VALUES(value);
CREATE /* gh-ost */ TABLE _items_del (id INT AUTO_INCREMENT PRIMARY KEY) ENGINE=InnoDB COMMENT='ghost-cut-over-sentry';
