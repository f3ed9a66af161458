<?php
// Dumps the return descriptions of web-service functions as JSON, for the sandbox's XML answers
// (lmsbridge/sandbox/data/returns.json). Run it in a Moodle 4.5 directory, e.g. with the lab:
//   ../shared/moodle-lab/lab php lp scripts/moodle-returns.php FUNCTION... > lmsbridge/sandbox/data/returns.json
// Each description: {"value": PARAM type, "required": 0|1|2, "allownull": bool} for external_value,
// {"single": {key: description...}, "required": ...} (keys in Moodle's order) or {"multiple": description, ...}.
define('CLI_SCRIPT', true);
require('config.php');

use core_external\external_api;
use core_external\external_multiple_structure;
use core_external\external_single_structure;
use core_external\external_value;

function describe($desc) {
    if ($desc === null) {
        return null;
    }
    if ($desc instanceof external_value) {
        return ['value' => $desc->type, 'required' => $desc->required, 'allownull' => (bool)$desc->allownull];
    }
    if ($desc instanceof external_multiple_structure) {
        return ['multiple' => describe($desc->content), 'required' => $desc->required];
    }
    if ($desc instanceof external_single_structure) {
        $keys = [];
        foreach ($desc->keys as $key => $sub) {
            $keys[] = [$key, describe($sub)];
        }
        return ['single' => $keys, 'required' => $desc->required];
    }
    throw new coding_exception('unknown description ' . get_class($desc));
}

$out = [];
foreach (array_slice($argv, 1) as $name) {
    $info = external_api::external_function_info($name);
    $out[$name] = describe($info->returns_desc);
}
echo json_encode($out, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES), "\n";
