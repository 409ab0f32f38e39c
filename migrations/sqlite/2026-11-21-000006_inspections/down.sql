DROP TABLE deductions;
DROP TABLE inspection_schedules;
DROP TABLE inspection_conflicts;
DROP TABLE inspection_issues;
DROP TABLE inspection_results;
DROP TABLE inspections;
DROP TABLE checklist_template_versions;
DROP TABLE checklist_templates;
