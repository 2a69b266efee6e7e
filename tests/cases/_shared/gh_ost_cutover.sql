-- gh-ost's cut-over and cleanup, after _shared/gh_ost_migration_until_cutover.sql.
DROP /* gh-ost */ TABLE IF EXISTS _items_del;
RENAME /* gh-ost */ TABLE items TO _items_del, _items_gho TO items;
DROP /* gh-ost */ TABLE IF EXISTS _items_del;
DROP /* gh-ost */ TABLE IF EXISTS _items_ghc;
