-- The perceptual hash split into four 16-bit bands, each indexed, so that near-duplicates are
-- found without scanning every photo: two hashes within r bits share a band within r/4 bits
-- (multi-index hashing). NULL when the photo has no hash. Each index carries the hash too, so a
-- search reads candidates from the indexes alone, never the table rows.
ALTER TABLE photos ADD COLUMN phash_band0 INTEGER;
ALTER TABLE photos ADD COLUMN phash_band1 INTEGER;
ALTER TABLE photos ADD COLUMN phash_band2 INTEGER;
ALTER TABLE photos ADD COLUMN phash_band3 INTEGER;
UPDATE photos SET
  phash_band0 = (strpos('0123456789abcdef', substr(phash, 1, 1)) - 1) * 4096 + (strpos('0123456789abcdef', substr(phash, 2, 1)) - 1) * 256 + (strpos('0123456789abcdef', substr(phash, 3, 1)) - 1) * 16 + (strpos('0123456789abcdef', substr(phash, 4, 1)) - 1),
  phash_band1 = (strpos('0123456789abcdef', substr(phash, 5, 1)) - 1) * 4096 + (strpos('0123456789abcdef', substr(phash, 6, 1)) - 1) * 256 + (strpos('0123456789abcdef', substr(phash, 7, 1)) - 1) * 16 + (strpos('0123456789abcdef', substr(phash, 8, 1)) - 1),
  phash_band2 = (strpos('0123456789abcdef', substr(phash, 9, 1)) - 1) * 4096 + (strpos('0123456789abcdef', substr(phash, 10, 1)) - 1) * 256 + (strpos('0123456789abcdef', substr(phash, 11, 1)) - 1) * 16 + (strpos('0123456789abcdef', substr(phash, 12, 1)) - 1),
  phash_band3 = (strpos('0123456789abcdef', substr(phash, 13, 1)) - 1) * 4096 + (strpos('0123456789abcdef', substr(phash, 14, 1)) - 1) * 256 + (strpos('0123456789abcdef', substr(phash, 15, 1)) - 1) * 16 + (strpos('0123456789abcdef', substr(phash, 16, 1)) - 1)
WHERE phash IS NOT NULL AND length(phash) = 16;
CREATE INDEX photos_phash_band0 ON photos(phash_band0, phash);
CREATE INDEX photos_phash_band1 ON photos(phash_band1, phash);
CREATE INDEX photos_phash_band2 ON photos(phash_band2, phash);
CREATE INDEX photos_phash_band3 ON photos(phash_band3, phash);
