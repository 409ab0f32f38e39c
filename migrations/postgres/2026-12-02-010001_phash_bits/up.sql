-- The perceptual hash as a 64-bit integer (the same bits, signed), carried by each band index in
-- place of the 16-digit text: a near-duplicate search reads candidates from the band indexes as
-- numbers and compares them there and then (media::phash::band_radii says which band values it
-- reads). Filled from the bands for the photos already stored; NULL when the photo has no hash.
ALTER TABLE photos ADD COLUMN phash_bits BIGINT;
UPDATE photos SET phash_bits =
    (phash_band0::bigint << 48) | (phash_band1::bigint << 32) | (phash_band2::bigint << 16) | phash_band3::bigint
WHERE phash_band0 IS NOT NULL AND phash_band1 IS NOT NULL
  AND phash_band2 IS NOT NULL AND phash_band3 IS NOT NULL;
DROP INDEX photos_phash_band0;
DROP INDEX photos_phash_band1;
DROP INDEX photos_phash_band2;
DROP INDEX photos_phash_band3;
CREATE INDEX photos_phash_band0 ON photos(phash_band0, phash_bits);
CREATE INDEX photos_phash_band1 ON photos(phash_band1, phash_bits);
CREATE INDEX photos_phash_band2 ON photos(phash_band2, phash_bits);
CREATE INDEX photos_phash_band3 ON photos(phash_band3, phash_bits);
