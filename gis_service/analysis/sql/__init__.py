"""All the analyses' SQL, one module per analysis; the statistics never touch the database."""
