-- Lists whose first page stays as quick with twice the history. The requests' queue (a status, by
-- date of request) and the whole list by date walk an index and stop at the page's end:
CREATE INDEX IF NOT EXISTS requests_status_requested_on ON requests (status, requested_on, id);
CREATE INDEX IF NOT EXISTS requests_requested_on ON requests (requested_on, id);
-- The check made at every opening for students without a search key finds none at once.
CREATE INDEX IF NOT EXISTS students_unkeyed ON students (id) WHERE search_key = '';
