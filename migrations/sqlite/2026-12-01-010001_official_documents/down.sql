DROP TABLE official_documents;
DROP TABLE document_counters;
