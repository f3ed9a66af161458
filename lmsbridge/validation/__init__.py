"""Where course information comes from: course files, SCORM packages, Moodle backups, live courses."""
