DROP INDEX photos_phash_band0;
DROP INDEX photos_phash_band1;
DROP INDEX photos_phash_band2;
DROP INDEX photos_phash_band3;
CREATE INDEX photos_phash_band0 ON photos(phash_band0, phash);
CREATE INDEX photos_phash_band1 ON photos(phash_band1, phash);
CREATE INDEX photos_phash_band2 ON photos(phash_band2, phash);
CREATE INDEX photos_phash_band3 ON photos(phash_band3, phash);
ALTER TABLE photos DROP COLUMN phash_bits;
