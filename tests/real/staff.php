<?php
// What a site admin does for lmsbridge's owner acts (README «Hvem kan gjøre hva»), which the lab's seed does not:
// the function core_course_get_user_administration_options in the service lmsbridge, the locked course custom field
// lmsbridge_kvittering (visible to teachers) for the receipts, and an e-learning coordinator with the manager role
// and a personal token for the service. Idempotent; run by tests/real/lab.py (Lab.prepare_owner_acts) through
// `lab php SITE tests/real/staff.php USERNAME FIRSTNAME LASTNAME EMAIL TOKEN`.
define('CLI_SCRIPT', true);
require 'config.php';
require_once($CFG->dirroot . '/user/lib.php');
require_once($CFG->dirroot . '/webservice/lib.php');

[$script, $username, $firstname, $lastname, $email, $token] = $argv;
$sys = context_system::instance();
$service = $DB->get_record('external_services', ['shortname' => 'lmsbridge'], '*', MUST_EXIST);
$ws = new webservice();

$function = 'core_course_get_user_administration_options';
if (!$DB->record_exists('external_services_functions', ['externalserviceid' => $service->id, 'functionname' => $function])) {
    $ws->add_external_function_to_service($function, $service->id);
}

$handler = \core_course\customfield\course_handler::create();
if (!$DB->record_exists('customfield_field', ['shortname' => 'lmsbridge_kvittering'])) {
    $categories = $handler->get_categories_with_fields();
    $category = reset($categories);
    $field = \core_customfield\field_controller::create(0, (object)['type' => 'text'], $category);
    $config = ['required' => 0, 'uniquevalues' => 0, 'locked' => 1, 'visibility' => 1, 'defaultvalue' => '',
        'displaysize' => 50, 'maxlength' => 1333, 'ispassword' => 0, 'link' => '', 'linktarget' => ''];
    $handler->save_field_configuration($field, (object)[
        'name' => 'lmsbridge-kvittering', 'shortname' => 'lmsbridge_kvittering', 'type' => 'text', 'description' => '',
        'descriptionformat' => FORMAT_HTML, 'categoryid' => $category->get('id'), 'configdata' => json_encode($config),
    ]);
}

$user = $DB->get_record('user', ['username' => $username]);
if (!$user) {
    $id = user_create_user((object)[
        'username' => $username, 'password' => 'Koordinator#2024', 'firstname' => $firstname, 'lastname' => $lastname,
        'email' => $email, 'auth' => 'manual', 'confirmed' => 1, 'mnethostid' => $CFG->mnet_localhost_id, 'lang' => 'en',
        'timezone' => '99', 'country' => 'NO',
    ], true, false);
    $user = $DB->get_record('user', ['id' => $id], '*', MUST_EXIST);
}
$manager = $DB->get_record('role', ['shortname' => 'manager'], '*', MUST_EXIST);
role_assign($manager->id, $user->id, $sys->id);
$rest = $DB->get_record('role', ['shortname' => 'lmsbridgelearner'], '*', MUST_EXIST);  // webservice/rest:use
role_assign($rest->id, $user->id, $sys->id);

if (!$DB->record_exists('external_tokens', ['token' => $token])) {
    $DB->insert_record('external_tokens', (object)[
        'token' => $token, 'privatetoken' => null, 'tokentype' => EXTERNAL_TOKEN_PERMANENT, 'userid' => $user->id,
        'externalserviceid' => $service->id, 'sid' => null, 'contextid' => $sys->id, 'creatorid' => $user->id,
        'iprestriction' => null, 'validuntil' => 0, 'timecreated' => time(), 'lastaccess' => null,
        'name' => "personal $username",
    ]);
}

echo "staff $username id={$user->id}\n";
