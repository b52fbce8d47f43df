INSERT INTO accounts SELECT g, 0 FROM generate_series(1, 100) g;
