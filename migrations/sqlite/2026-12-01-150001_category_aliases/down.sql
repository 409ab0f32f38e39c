DROP TABLE category_aliases;
