SELECT COUNT(*) > 10 FROM {db}.t WHERE node = 'b';
SELECT COUNT(*) > 10 FROM {db}.t WHERE node = 'a';
SELECT COUNT(*) = 0 FROM dts_meta.conflicts;
