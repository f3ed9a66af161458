"""Course functions: read, search, create/update/delete, categories, contents, modules, import.

Faithful points (tests/fixtures/moodle/INDEX.md): get_courses_by_field with an unknown id gives an
empty list; update and delete report per-course problems as warnings, never as exceptions; custom
fields take and return select fields as 1-based option indexes and dates as Unix times; unknown custom
field shortnames are ignored; get_contents has no module ``idnumber`` (get_course_module has).
"""

from __future__ import annotations

from html import escape
from typing import Any

from lmsbridge.sandbox.exceptions import (
    MoodleError,
    coding_error,
    invalid_parameter,
    missing_record,
    moodle_error,
    no_permission,
)
from lmsbridge.sandbox.functions.access import has_capability
from lmsbridge.sandbox.functions.common import (
    course_public,
    course_record,
    get_course,
)
from lmsbridge.sandbox.models import (
    COMPLETE,
    TRACKING_AUTOMATIC,
    TRACKING_NONE,
    Category,
    Course,
    Module,
    Section,
)
from lmsbridge.sandbox.params import DEFAULT, OPTIONAL, Multiple, Single, Value
from lmsbridge.sandbox.registry import Call, ws
from lmsbridge.sandbox.wire import ABSENT

#: modules.id of the module types on a standard 4.5 install (lp__core_course_get_course_module__ok: page = 17)
MODULE_TYPE_IDS = {"assign": 1, "book": 3, "folder": 7, "forum": 9, "label": 13, "lesson": 14, "page": 17,
                   "quiz": 18, "resource": 19, "scorm": 20, "url": 23}
PURPOSES = {"forum": "collaboration", "page": "content", "label": "content", "resource": "content",
            "url": "content", "quiz": "assessment", "assign": "assessment", "scorm": "interactivecontent"}
PLURALS = {"forum": "Forums", "page": "Pages", "label": "Text and media areas", "resource": "Files",
           "url": "URLs", "quiz": "Quizzes", "assign": "Assignments", "scorm": "SCORM packages"}

NAME_VALUE = Single({"name": Value("alphanumext"), "value": Value("raw")})
SHORTNAME_VALUE = Single({"shortname": Value("alphanumext"), "value": Value("raw")})


def context_error(courseid: int) -> MoodleError:
    return moodle_error(
        "errorcoursecontextnotvalid",
        f"You cannot execute functions in the course context (course id:{courseid}). "
        "The context error message was: Course or activity not accessible.",
    )


def require_course_context(call: Call, course: Course) -> None:
    if not call.can_enter(course):
        raise context_error(course.id)


def warning(itemid: int, code: str, message: str, item: str = "course") -> dict[str, Any]:
    return {"item": item, "itemid": itemid, "warningcode": code, "message": message}


# -- reading ------------------------------------------------------------------------------------------


@ws("core_course_get_courses",
    Single({"options": Single({"ids": Multiple(Value("int"), required=OPTIONAL)}, required=DEFAULT, default={})}))
def get_courses(call: Call) -> list[dict[str, Any]]:
    state = call.state
    ids = call.params["options"].get("ids")
    chosen = [state.courses[i] for i in dict.fromkeys(ids) if i in state.courses] if ids else list(state.courses.values())
    out = []
    for course in sorted(chosen, key=lambda c: c.sortorder):
        if not course.is_site:
            require_course_context(call, course)
            if not call.can_manage():
                raise no_permission("View courses without participation", "moodle/course:view")
        out.append(course_record(call, course))
    return out


@ws("core_course_get_courses_by_field",
    Single({"field": Value("alpha", DEFAULT, ""), "value": Value("raw", DEFAULT, "")}))
def get_courses_by_field(call: Call) -> dict[str, Any]:
    state = call.state
    field, value = call.params["field"], str(call.params["value"])
    courses = list(state.courses.values())
    if field == "":
        chosen = courses
    elif field == "id":
        chosen = [c for c in courses if c.id == _int(value)]
    elif field == "ids":
        wanted = {_int(part) for part in value.split(",") if part.strip()}
        chosen = [c for c in courses if c.id in wanted]
    elif field == "shortname":
        chosen = [c for c in courses if c.shortname == value]
    elif field == "idnumber":
        chosen = [c for c in courses if c.idnumber and c.idnumber == value]
    elif field == "category":
        chosen = [c for c in courses if c.categoryid == _int(value)]
    elif field == "sectionid":
        chosen = [c for c in courses if any(s.id == _int(value) for s in c.sections)]
    else:
        raise invalid_parameter("Invalid field name")
    out = []
    for course in sorted(chosen, key=lambda c: c.id):
        if call.can_manage():
            out.append(course_public(call, course, full=True, manager=True))
        elif call.can_enter(course):
            out.append(course_public(call, course, full=True, manager=False))
        elif course.visible:
            out.append(course_public(call, course, full=False, manager=False))
    return {"courses": out, "warnings": []}


def _int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        return 0


@ws("core_course_search_courses",
    Single({
        "criterianame": Value("alpha"),
        "criteriavalue": Value("raw"),
        "page": Value("int", DEFAULT, 0),
        "perpage": Value("int", DEFAULT, 0),
        "requiredcapabilities": Multiple(Value("raw"), required=DEFAULT, default=[]),
        "limittoenrolled": Value("bool", DEFAULT, False),
        "onlywithcompletion": Value("bool", DEFAULT, False),
    }))
def search_courses(call: Call) -> dict[str, Any]:
    state = call.state
    name, value = call.params["criterianame"], str(call.params["criteriavalue"])
    candidates = [c for c in state.courses.values() if not c.is_site and (c.visible or call.can_manage())]
    if name == "search":
        words = [w.lower() for w in value.split() if w]
        def matches(course: Course) -> bool:
            haystack = " ".join((course.fullname, course.shortname, course.idnumber, course.summary)).lower()
            return all(word in haystack for word in words)
        found = [c for c in candidates if matches(c)]
    elif name == "tagid":
        tag = state.tags.get(_int(value))
        found = [c for c in candidates if tag is not None and tag.name in c.tags]
    elif name in ("modulelist", "blocklist"):
        if not call.can_manage():
            raise no_permission("Change site configuration", "moodle/site:config")
        found = [c for c in candidates if any(m.modname == value for m in state.course_modules(c))] if name == "modulelist" else []
    else:
        raise invalid_parameter("Invalid value for criterianame parameter")
    if call.params["limittoenrolled"]:
        found = [c for c in found if state.is_enrolled(c.id, call.caller.id)]
    if call.params["onlywithcompletion"]:
        found = [c for c in found if c.enablecompletion]
    found.sort(key=lambda c: c.sortorder)
    total = len(found)
    page, perpage = call.params["page"], call.params["perpage"]
    if perpage > 0:
        found = found[page * perpage:(page + 1) * perpage]
    return {"total": total, "courses": [course_public(call, c, full=False, manager=False) for c in found],
            "warnings": []}


# -- writing ------------------------------------------------------------------------------------------

COURSE_FIELDS: dict[str, Value | Single | Multiple] = {
    "idnumber": Value("raw", OPTIONAL),
    "summary": Value("raw", OPTIONAL),
    "summaryformat": Value("int", DEFAULT, 1),
    "format": Value("plugin", DEFAULT, "topics"),
    "showgrades": Value("int", DEFAULT, 1),
    "newsitems": Value("int", DEFAULT, 5),
    "startdate": Value("int", OPTIONAL),
    "enddate": Value("int", OPTIONAL),
    "numsections": Value("int", OPTIONAL),
    "maxbytes": Value("int", DEFAULT, 0),
    "showreports": Value("int", DEFAULT, 0),
    "visible": Value("int", OPTIONAL),
    "hiddensections": Value("int", OPTIONAL),
    "groupmode": Value("int", DEFAULT, 0),
    "groupmodeforce": Value("int", DEFAULT, 0),
    "defaultgroupingid": Value("int", DEFAULT, 0),
    "enablecompletion": Value("int", OPTIONAL),
    "completionnotify": Value("int", OPTIONAL),
    "lang": Value("raw", OPTIONAL),
    "forcetheme": Value("plugin", OPTIONAL),
    "courseformatoptions": Multiple(NAME_VALUE, required=OPTIONAL),
    "customfields": Multiple(SHORTNAME_VALUE, required=OPTIONAL),
}
CREATE_COURSE = Single({"fullname": Value("text"), "shortname": Value("text"), "categoryid": Value("int"),
                        **COURSE_FIELDS})
UPDATE_COURSE = Single({
    "id": Value("int"),
    "fullname": Value("text", OPTIONAL),
    "shortname": Value("text", OPTIONAL),
    "categoryid": Value("int", OPTIONAL),
    **{key: Value(desc.type, OPTIONAL) if isinstance(desc, Value) else desc for key, desc in COURSE_FIELDS.items()},
})


def _store_customfields(call: Call, course: Course, values: list[dict[str, Any]]) -> None:
    """Unknown shortnames are silently ignored (ks__core_course_create_courses__ok: ``finnes_ikke``)."""
    for item in values:
        spec = call.state.field(str(item["shortname"]))
        if spec is None:
            continue
        raw = item["value"]
        if spec.type == "select":
            index = _int(str(raw))
            course.customfields[spec.shortname] = index if 0 <= index <= len(spec.options) else 0
        elif spec.type in ("date", "checkbox"):
            course.customfields[spec.shortname] = _int(str(raw))
        else:
            course.customfields[spec.shortname] = str(raw)


def _shortname_taken(call: Call, shortname: str, course_id: int = 0) -> MoodleError | None:
    other = call.state.course_by_shortname(shortname)
    if other is not None and other.id != course_id:
        return moodle_error("shortnametaken", f"Short name is already used for another course ({other.shortname})")
    return None


def _idnumber_taken(call: Call, idnumber: str, course_id: int = 0) -> MoodleError | None:
    if not idnumber:
        return None
    other = next((c for c in call.state.courses.values() if c.idnumber == idnumber and c.id != course_id), None)
    if other is not None:
        return moodle_error("courseidnumbertaken", f"ID number is already used for another course ({other.shortname})")
    return None


def _category_context_error(categoryid: int) -> MoodleError:
    return moodle_error(
        "errorcatcontextnotvalid",
        f"You cannot execute functions in the category context (category id:{categoryid}). "
        "The context error message was: Invalid parameter value detected",
    )


def _format_option(options: list[dict[str, Any]], name: str) -> int | None:
    for option in options:
        if option["name"] == name:
            return _int(str(option["value"]))
    return None


@ws("core_course_create_courses", Single({"courses": Multiple(CREATE_COURSE)}), writes=True)
def create_courses(call: Call) -> list[dict[str, Any]]:
    state = call.state
    batch: list[dict[str, Any]] = call.params["courses"]
    # all-or-nothing: every check before the first insert
    seen_shortnames: set[str] = set()
    for item in batch:
        if item["categoryid"] not in state.categories:
            raise _category_context_error(item["categoryid"])
        if not has_capability(state, call.caller, "moodle/course:create", categoryid=item["categoryid"]):
            raise no_permission("Create courses", "moodle/course:create")
        taken = _shortname_taken(call, item["shortname"]) or _idnumber_taken(call, item.get("idnumber", ""))
        if taken is not None or item["shortname"] in seen_shortnames:
            raise taken or moodle_error("shortnametaken",
                                        f"Short name is already used for another course ({item['shortname']})")
        seen_shortnames.add(item["shortname"])
    created = []
    for item in batch:
        options = item.get("courseformatoptions", [])
        numsections = item.get("numsections", _format_option(options, "numsections"))
        hidden = item.get("hiddensections", _format_option(options, "hiddensections"))
        course = state.create_course_record(
            shortname=item["shortname"], fullname=item["fullname"], categoryid=item["categoryid"],
            idnumber=item.get("idnumber", ""), summary=item.get("summary", ""), summaryformat=item["summaryformat"],
            format=item["format"], showgrades=item["showgrades"], newsitems=item["newsitems"],
            startdate=item.get("startdate", 0), enddate=item.get("enddate", 0),
            visible=item.get("visible", state.categories[item["categoryid"]].visible),
            enablecompletion=item.get("enablecompletion", 1),
            numsections=4 if numsections is None else numsections, lang=item.get("lang", ""),
            completionnotify=item.get("completionnotify", 0), hiddensections=1 if hidden is None else hidden,
        )
        _store_customfields(call, course, item.get("customfields", []))
        created.append({"id": course.id, "shortname": course.shortname})
    return created


@ws("core_course_update_courses", Single({"courses": Multiple(UPDATE_COURSE)}), writes=True)
def update_courses(call: Call) -> dict[str, Any]:
    state = call.state
    warnings = []
    for item in call.params["courses"]:
        course = state.course(item["id"])
        if course is None:
            warnings.append(warning(item["id"], "invalidrecord", "Can't find data record in database table course."))
            continue
        if not has_capability(state, call.caller, "moodle/course:update", course=course):
            warnings.append(warning(course.id, "nopermissions",
                                    "Sorry, but you do not currently have permissions to do that (Update course settings)."))
            continue
        if course.is_site:
            warnings.append(warning(course.id, "invalidcourse", "Invalid course"))
            continue
        problem = None
        if "shortname" in item and item["shortname"] != course.shortname:
            problem = _shortname_taken(call, item["shortname"], course.id)
        if problem is None and item.get("idnumber") and item["idnumber"] != course.idnumber:
            problem = _idnumber_taken(call, item["idnumber"], course.id)
        if problem is None and "categoryid" in item and item["categoryid"] not in state.categories:
            problem = missing_record("course_categories")
        if problem is not None:
            warnings.append(warning(course.id, problem.errorcode or "", problem.message))
            continue
        _apply_update(call, course, item)
    return {"warnings": warnings}


def _apply_update(call: Call, course: Course, item: dict[str, Any]) -> None:
    state = call.state
    for key in ("fullname", "shortname", "idnumber", "summary", "summaryformat", "format", "showgrades",
                "newsitems", "startdate", "enddate", "visible", "enablecompletion", "completionnotify", "lang",
                "hiddensections"):
        if key in item:
            setattr(course, key, item[key])
    if "categoryid" in item and item["categoryid"] != course.categoryid:
        category = state.categories[item["categoryid"]]
        for other in state.courses.values():
            if other.categoryid == category.id:
                other.sortorder += 1
        course.categoryid, course.sortorder = category.id, category.sortorder + 1
    options = item.get("courseformatoptions", [])
    for name in ("hiddensections", "coursedisplay"):
        value = _format_option(options, name)
        if value is not None:
            setattr(course, name, value)
    numsections = item.get("numsections", _format_option(options, "numsections"))
    if numsections is not None:
        while len(course.sections) <= numsections:
            course.sections.append(Section(state.next_id("section"), len(course.sections)))
    _store_customfields(call, course, item.get("customfields", []))
    course.timemodified = call.now
    course.cacherev = call.now


@ws("core_course_delete_courses", Single({"courseids": Multiple(Value("int"))}), writes=True)
def delete_courses(call: Call) -> dict[str, Any]:
    state = call.state
    warnings = []
    for courseid in call.params["courseids"]:
        course = state.course(courseid)
        if course is None:
            warnings.append(warning(courseid, "unknowncourseidnumber", f"Unknown course ID {courseid}"))
            continue
        require_course_context(call, course)
        if not call.can_manage() or course.is_site:
            warnings.append(warning(courseid, "cannotdeletecourse",
                                    f"You do not have the permission to delete this course{courseid}"))
            continue
        state.delete_course(courseid)
    return {"warnings": warnings}


# -- categories -----------------------------------------------------------------------------------------


def _category_record(call: Call, category: Category) -> dict[str, Any]:
    state = call.state
    path = state.category_path(category)
    record: dict[str, Any] = {"id": category.id, "name": category.name}
    if call.can_manage():
        record["idnumber"] = category.idnumber
    record.update({
        "description": category.description,
        "descriptionformat": category.descriptionformat,
        "parent": category.parent,
        "sortorder": category.sortorder,
        "coursecount": sum(1 for c in state.courses.values() if c.categoryid == category.id),
    })
    if call.can_manage():
        record.update({"visible": category.visible, "visibleold": category.visible,
                       "timemodified": category.timemodified})
    record.update({"depth": len(path), "path": "/" + "/".join(map(str, path))})
    if call.can_manage():
        record["theme"] = category.theme
    return record


@ws("core_course_get_categories",
    Single({
        "criteria": Multiple(Single({"key": Value("alpha"), "value": Value("raw")}), required=DEFAULT, default=[]),
        "addsubcategories": Value("bool", DEFAULT, True),
    }))
def get_categories(call: Call) -> list[dict[str, Any]]:
    state = call.state
    chosen = list(state.categories.values())
    for criterion in call.params["criteria"]:
        key, value = criterion["key"], str(criterion["value"])
        if key == "id":
            chosen = [c for c in chosen if c.id == _int(value)]
        elif key == "ids":
            wanted = {_int(v) for v in value.split(",")}
            chosen = [c for c in chosen if c.id in wanted]
        elif key == "name":
            chosen = [c for c in chosen if c.name == value]
        elif key == "parent":
            chosen = [c for c in chosen if c.parent == _int(value)]
        elif key == "idnumber":
            chosen = [c for c in chosen if (c.idnumber or "") == value]
        elif key == "visible":
            chosen = [c for c in chosen if c.visible == _int(value)]
        elif key == "theme":
            chosen = [c for c in chosen if c.theme == value]
        else:
            raise moodle_error("invalidparameter", f"Invalid criteria key: {key}")
    if call.params["addsubcategories"] and call.params["criteria"]:
        ids = {c.id for c in chosen}
        grew = True
        while grew:
            more = {c.id for c in state.categories.values() if c.parent in ids} - ids
            ids |= more
            grew = bool(more)
        chosen = [state.categories[i] for i in ids]
    if not call.can_manage():
        chosen = [c for c in chosen if c.visible]
    return [_category_record(call, c) for c in sorted(chosen, key=lambda c: c.sortorder)]


@ws("core_course_create_categories",
    Single({"categories": Multiple(Single({
        "name": Value("text"),
        "parent": Value("int", DEFAULT, 0),
        "idnumber": Value("raw", OPTIONAL),
        "description": Value("raw", OPTIONAL),
        "descriptionformat": Value("int", DEFAULT, 1),
        "theme": Value("plugin", OPTIONAL),
    }))}), writes=True)
def create_categories(call: Call) -> list[dict[str, Any]]:
    state = call.state
    for item in call.params["categories"]:
        if item["parent"] and item["parent"] not in state.categories:
            raise moodle_error("unknowcategory", "Unknown category")
        if not call.can_manage():
            raise no_permission("Manage course categories", "moodle/category:manage")
        if not item["name"].strip():
            raise moodle_error("categorynamerequired", "Category name is required")
        if item.get("idnumber") and any(c.idnumber == item["idnumber"] for c in state.categories.values()):
            raise moodle_error("categoryidnumbertaken", "ID number is already used for another category")
    created = []
    for item in call.params["categories"]:
        category = state.add_category(item["name"], parent=item["parent"], idnumber=item.get("idnumber"),
                                      description=item.get("description", ""),
                                      descriptionformat=item["descriptionformat"])
        created.append({"id": category.id, "name": category.name})
    return created


# -- contents and modules --------------------------------------------------------------------------------


def _modicon(call: Call, modname: str) -> str:
    rev = call.state.site_course().cacherev
    return call.url(f"/theme/image.php/boost/{modname}/{rev}/monologo?filtericon=1")


def completion_details(call: Call, module: Module, userid: int, *, tracked: bool) -> dict[str, Any]:
    record = call.state.activity_state(module.id, userid) if tracked else None
    state = record.state if record else 0
    details = []
    if module.completion == TRACKING_AUTOMATIC and module.completionview:
        viewed = bool(record and (record.viewed or record.state >= COMPLETE))
        details.append({"rulename": "completionview", "rulevalue": {"status": int(viewed), "description": "View"}})
    return {
        "state": state,
        "timecompleted": record.timemodified if record and record.state >= COMPLETE else 0,
        "overrideby": record.overrideby if record else None,
        "valueused": False,
        "hascompletion": True,
        "isautomatic": module.completion == TRACKING_AUTOMATIC,
        "istrackeduser": tracked,
        "uservisible": True,
        "details": details,
        "isoverallcomplete": state >= COMPLETE,
    }


def _module_record(call: Call, module: Module, *, contents: bool) -> dict[str, Any]:
    caller = call.caller
    record: dict[str, Any] = {
        "id": module.id,
        "url": call.url(f"/mod/{module.modname}/view.php?id={module.id}"),
        "name": module.name,
        "instance": module.instance,
        "contextid": module.contextid,
        "visible": module.visible,
        "uservisible": True,
        "visibleoncoursepage": module.visibleoncoursepage,
        "modicon": _modicon(call, module.modname),
        "modname": module.modname,
        "purpose": PURPOSES.get(module.modname, "content"),
        "branded": False,
        "modplural": PLURALS.get(module.modname, module.modname.title() + "s"),
        # course/externallib.php: availability only for those who may see hidden activities or update the course
        "availability": None if call.can_manage() else ABSENT,
        "indent": 0,
        "onclick": "",
        "afterlink": None,
    }
    if module.modname == "forum":
        record["activitybadge"] = []
        record["customdata"] = '{"trackingtype":"1"}'
    else:
        record["customdata"] = '""'
    record["noviewlink"] = False
    record["completion"] = module.completion
    if module.completion != TRACKING_NONE:
        tracked = call.state.is_enrolled(module.courseid, caller.id) and not caller.is_manager
        record["completiondata"] = completion_details(call, module, caller.id, tracked=tracked)
    record.update({"downloadcontent": 1, "dates": [], "groupmode": 0})
    if module.modname == "page" and contents:
        record["contents"] = [{
            "type": "file", "filename": "index.html", "filepath": "/", "filesize": 0,
            "fileurl": call.url(f"/webservice/pluginfile.php/{module.contextid}/mod_page/content/index.html?forcedownload=1"),
            "timecreated": None, "timemodified": module.timemodified, "sortorder": 1, "userid": None, "author": None,
            "license": None,
        }]
        record["contentsinfo"] = {"filescount": 1, "filessize": 0, "lastmodified": module.timemodified,
                                  "mimetypes": [], "repositorytype": ""}
    return record


@ws("core_course_get_contents",
    Single({"courseid": Value("int"), "options": Multiple(NAME_VALUE, required=DEFAULT, default=[])}))
def get_contents(call: Call) -> list[dict[str, Any]]:
    state = call.state
    course = get_course(call, call.params["courseid"])
    require_course_context(call, course)
    options: dict[str, str] = {}
    for option in call.params["options"]:
        name = str(option["name"]).lower()
        if name not in ("excludemodules", "excludecontents", "includestealthmodules", "sectionid", "sectionnumber",
                        "cmid", "modid", "modname"):
            raise moodle_error("errorinvalidparam", f"Invalid parameter: {name}")
        options[name] = str(option["value"])
    out = []
    for section in course.sections:
        if "sectionid" in options and section.id != _int(options["sectionid"]):
            continue
        if "sectionnumber" in options and section.section != _int(options["sectionnumber"]):
            continue
        modules = []
        if options.get("excludemodules") not in ("1", "true"):
            for cmid in section.sequence:
                module = state.modules.get(cmid)
                if module is None or (not module.visible and not call.can_manage()):
                    continue
                if "cmid" in options and module.id != _int(options["cmid"]):
                    continue
                if "modname" in options and module.modname != options["modname"]:
                    continue
                if "modid" in options and module.instance != _int(options["modid"]):
                    continue
                modules.append(_module_record(call, module, contents=options.get("excludecontents") not in ("1", "true")))
        out.append({
            "id": section.id,
            "name": section.name or ("General" if section.section == 0 else "New section"),
            "visible": section.visible,
            "summary": section.summary,
            "summaryformat": 1,
            "section": section.section,
            "hiddenbynumsections": 0,
            "uservisible": True,
            "component": None,
            "itemid": None,
            "modules": modules,
        })
    return out


def _get_module(call: Call, cmid: int) -> Module:
    module = call.state.modules.get(cmid)
    if module is None:
        raise missing_record(None)
    return module


@ws("core_course_get_course_module", Single({"cmid": Value("int")}))
def get_course_module(call: Call) -> dict[str, Any]:
    module = _get_module(call, call.params["cmid"])
    course = call.state.courses[module.courseid]
    if not call.can_enter(course) or (not module.visible and not call.can_manage()):
        raise MoodleError("core\\exception\\require_login_exception", "requireloginerror",
                          "Course or activity not accessible. (Not enrolled)")
    section = next(s for s in course.sections if s.id == module.sectionid)
    cm: dict[str, Any] = {
        "id": module.id, "course": module.courseid, "module": MODULE_TYPE_IDS.get(module.modname, 0),
        "name": module.name, "modname": module.modname, "instance": module.instance, "section": section.id,
        "sectionnum": section.section, "groupmode": 0, "groupingid": 0, "completion": module.completion,
    }
    if call.can_manage():  # course/externallib.php get_course_module: the settings need manageactivities
        cm.update({
            "idnumber": module.idnumber, "added": module.added, "score": 0, "indent": 0, "visible": module.visible,
            "visibleoncoursepage": module.visibleoncoursepage, "visibleold": module.visibleold,
            "completiongradeitemnumber": None, "completionpassgrade": 0, "completionview": module.completionview,
            "completionexpected": 0, "showdescription": 0,
        })
    cm["downloadcontent"] = 1
    if call.can_manage():
        cm["availability"] = None
    return {"cm": cm, "warnings": []}


def _module_html(call: Call, module: Module) -> str:
    """A short stand-in for the rendered activity <li> that core_course_edit_module returns."""
    hidden = " hiddenactivity" if not module.visible else ""
    stealth = " stealth" if module.visible and not module.visibleoncoursepage else ""
    name = escape(module.name)
    return (
        f'<li\n    class="activity activity-wrapper {module.modname} modtype_{module.modname}  hasinfo "\n'
        f'    id="module-{module.id}"\n    data-for="cmitem"\n    data-id="{module.id}"\n>\n'
        f'<div class="activity-item focus-control{hidden}{stealth}" data-activityname="{name}" data-region="activity-card">\n'
        f'    <div class="activity-grid ">\n'
        f'        <div class="activity-icon activityiconcontainer smaller content  courseicon align-self-start me-2">\n'
        f'            <img src="{_modicon(call, module.modname)}" class="activityicon " data-region="activity-icon" '
        f'data-id="{module.id}" alt="" >\n        </div>\n'
        f'        <div class="activity-name-area activity-instance d-flex flex-column me-2">\n'
        f'            <a href="{call.url(f"/mod/{module.modname}/view.php?id={module.id}")}" class=" aalink stretched-link">'
        f'<span class="instancename">{name}</span></a>\n        </div>\n    </div>\n</div>\n</li>'
    )


@ws("core_course_edit_module",
    Single({"action": Value("alphanumext"), "id": Value("int"), "sectionreturn": Value("int", OPTIONAL)}),
    writes=True)
def edit_module(call: Call) -> str:
    module = _get_module(call, call.params["id"])
    course = call.state.courses[module.courseid]
    require_course_context(call, course)
    if not call.can_manage():
        raise no_permission("Manage activities", "moodle/course:manageactivities")
    action = call.params["action"]
    if action == "hide":
        module.visibleold, module.visible = module.visible, 0
    elif action == "show":
        module.visible, module.visibleoncoursepage, module.visibleold = 1, 1, 1
    elif action == "stealth":
        module.visible, module.visibleoncoursepage = 1, 0
    elif action == "delete":
        for section in course.sections:
            if module.id in section.sequence:
                section.sequence.remove(module.id)
        del call.state.modules[module.id]
        return ""
    else:
        raise coding_error("Unrecognised action")
    module.timemodified = call.now
    course.cacherev = call.now
    return _module_html(call, module)


@ws("core_course_import_course",
    Single({
        "importfrom": Value("int"),
        "importto": Value("int"),
        "deletecontent": Value("int", DEFAULT, 0),
        "options": Multiple(Single({"name": Value("alpha"), "value": Value("raw")}), required=DEFAULT, default=[]),
    }), writes=True)
def import_course(call: Call) -> None:
    source = get_course(call, call.params["importfrom"])
    target = get_course(call, call.params["importto"])
    if not call.can_manage():
        raise no_permission("Import from another course", "moodle/backup:backuptargetimport")
    activities = next((str(o["value"]) for o in call.params["options"] if o["name"] == "activities"), "1")
    if activities in ("1", "true"):
        call.state.import_activities(source, target, delete_existing=bool(call.params["deletecontent"]))
    return None
