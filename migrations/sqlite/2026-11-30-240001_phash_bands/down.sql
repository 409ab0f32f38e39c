DROP INDEX photos_phash_band0;
DROP INDEX photos_phash_band1;
DROP INDEX photos_phash_band2;
DROP INDEX photos_phash_band3;
ALTER TABLE photos DROP COLUMN phash_band0;
ALTER TABLE photos DROP COLUMN phash_band1;
ALTER TABLE photos DROP COLUMN phash_band2;
ALTER TABLE photos DROP COLUMN phash_band3;
