UPDATE `select` SET `order` = CONCAT('w', {i}) WHERE `key` = {i} % 100 + 1;
INSERT INTO `t``ick 'q' "dq" é` VALUES (1000 + {i}, 'ü {i}');
UPDATE ci SET v = v + 1 WHERE k = 'ABC';
