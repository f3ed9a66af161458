<?php
// A learner's visit to a course, as Moodle records it on a page view (user_accesstime_log in lib/datalib.php):
// user_lastaccess.timeaccess for (user, course) set to now. The lab's learners never log in through a browser,
// so the report column «Last access to course» and its filter need this. Run by tests/real/test_visits_filter.py
// through `lab php SITE tests/real/visit.php USERID COURSEID`.
define('CLI_SCRIPT', true);
require 'config.php';

[$script, $userid, $courseid] = $argv;
$now = time();
$record = $DB->get_record('user_lastaccess', ['userid' => (int)$userid, 'courseid' => (int)$courseid]);
if ($record) {
    $DB->set_field('user_lastaccess', 'timeaccess', $now, ['id' => $record->id]);
} else {
    $DB->insert_record('user_lastaccess', (object)['userid' => (int)$userid, 'courseid' => (int)$courseid,
        'timeaccess' => $now]);
}
echo "visited\n";
