-- include: ../_shared/partly_selected_objects_before.sql
CREATE SEQUENCE s1 START WITH 100;
CREATE TABLE t1 (id BIGINT PRIMARY KEY DEFAULT NEXTVAL(s1));
