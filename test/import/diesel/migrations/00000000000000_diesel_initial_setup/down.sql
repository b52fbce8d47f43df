DROP FUNCTION IF EXISTS touch_updated_at();
