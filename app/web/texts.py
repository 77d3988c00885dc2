"""The web view's own words: page chrome, the login form, error pages (Swedish first, English with ``?lang=en``).

Only words no other surface says. KPI names come from ``app.kpi.catalog``, statuses, units and scope kinds from
``app.kpi.glossary``, the forecast and "needed" headings from the export's columns (``app.reports.columns``),
so the web view calls every fact what the report, the exports and the alerts call it.
"""

from __future__ import annotations

from app.kpi.glossary import TERMS, Lang, Term, capitalised

WEB: dict[str, Term] = {
    "product": Term("Tillgänglighet 1177 Vårdguiden på telefon", "Accessibility of 1177 Vårdguiden på telefon"),
    "scorecard_for": Term("Styrkort {month}", "Scorecard {month}"),
    "in_progress": Term("{month} pågår: siffrorna gäller månaden hittills. Status bedöms mot prognosen för "
                        "resten av månaden.",
                        "{month} is in progress: the figures are for the month so far. Status is judged against "
                        "the forecast for the rest of the month."),
    "closed": Term("Avslutad månad, bedömd mot de mål som gällde då.",
                   "A closed month, judged by the targets in force then."),
    "no_scopes": Term("Inga samtal är registrerade för {month}.", "No calls are recorded for {month}."),
    "previous": Term("Föregående månad", "Previous month"),
    "next": Term("Nästa månad", "Next month"),
    "current": Term("Innevarande månad", "Current month"),
    "downloads": Term("Ladda ner och skriv ut", "Download and print"),
    "report": Term("Styrelserapport (utskrift, A4)", "Board report (print, A4)"),
    "csv": Term("Styrkort som CSV", "Scorecard as CSV"),
    "xlsx": Term("Styrkort som Excel (XLSX)", "Scorecard as Excel (XLSX)"),
    "api": Term("För program (API-nyckel i huvudet Authorization)", "For programs (API key in the Authorization "
                "header)"),
    "api_docs": Term("API-dokumentation", "API documentation"),
    "language": Term("In English", "På svenska"),
    "area": Term("Område", "Area"),
    "kind": Term("Typ", "Type"),
    "legend": Term("Tecken: {marks}. Färgen upprepar tecknet.", "Marks: {marks}. The colour repeats the mark."),
    # under a KPI's value: its change, against the same days of the previous month while the month is in progress
    "changes": Term("Liten text under svarsfrekvens och medelväntetid: förändring mot {previous} "
                    "(p.e. = procentenheter, väntetider i min:s).",
                    "Small print under answer rate and mean wait: change against {previous} "
                    "(pp = percentage points, waits in min:s)."),
    "series": Term("13 månader", "13 months"),
    "month": Term("Månad", "Month"),
    "target": Term("Mål", "Target"),
    "days": Term("Dagar i {month}", "Days of {month}"),
    "day": Term("Dag", "Day"),
    "hours": Term("Timmar {day}", "Hours of {day}"),
    "hour": Term("Timme", "Hour"),
    "no_calls": Term("inga samtal", "no calls"),
    "back": Term("Till styrkortet", "Back to the scorecard"),
    "members": Term("Medlemsregioner", "Member regions"),
    "member_of": Term("Ingår i", "Member of"),
    "forecast": Term("Prognos", "Forecast"),
    "forecast_text": Term("Cirka {rest} inkommande samtal till resten av månaden, cirka {total} för hela månaden "
                          "(samma veckodag och timme de senaste {weeks} veckorna).",
                          "About {rest} more incoming calls this month, about {total} for the whole month (same "
                          "weekday and hour over the last {weeks} weeks)."),
    "no_forecast": Term("För lite historik för en prognos; status bedöms på månaden hittills.",
                        "Too little history for a forecast; status is judged on the month so far."),
    "partial": Term("Ofullständigt underlag", "Partial data"),
    "skip": Term("Hoppa till innehållet", "Skip to content"),
    "login_title": Term("Logga in", "Sign in"),
    "login_intro": Term("Styrkorten är inte öppna för alla. Logga in med en API-nyckel med läsbehörighet (read). "
                        "Nyckeln sparas inte i webbläsaren: du får en session som upphör efter {hours} timmar.",
                        "The scorecards are not public. Sign in with an API key with the read scope. The key is "
                        "not kept in the browser: you get a session that ends after {hours} hours."),
    "api_key": Term("API-nyckel", "API key"),
    "sign_in": Term("Logga in", "Sign in"),
    "sign_out": Term("Logga ut", "Sign out"),
    "signed_in_as": Term("Inloggad som {name}", "Signed in as {name}"),
    "login_failed": Term("Inloggningen misslyckades: {reason}", "Sign-in failed: {reason}"),
    "reason_malformed": Term("det är inte en API-nyckel (vpt_…)", "that is not an API key (vpt_…)"),
    "reason_invalid": Term("okänd nyckel", "unknown key"),
    "reason_revoked": Term("nyckeln är återkallad", "the key has been revoked"),
    "reason_expired": Term("nyckeln har gått ut", "the key has expired"),
    "reason_scope": Term("nyckeln saknar läsbehörighet (read)", "the key lacks the read scope"),
    "login_throttled": Term("För många misslyckade inloggningar från din adress. Försök igen om {minutes} min.",
                            "Too many failed sign-ins from your address. Try again in {minutes} min."),
    "csrf_failed": Term("Formuläret har gått ut eller kom från en annan webbplats. Ladda om sidan och försök igen.",
                        "The form has expired or came from another site. Reload the page and try again."),
    "error_title": Term("Det gick inte", "That did not work"),
    "not_found": Term("Sidan finns inte", "Page not found"),
    "bad_month": Term("Månaden ska skrivas ÅÅÅÅ-MM, till exempel 2025-10.",
                      "Write the month as YYYY-MM, e.g. 2025-10."),
    "bad_date": Term("Dagen ska skrivas ÅÅÅÅ-MM-DD, till exempel 2025-10-26.",
                     "Write the day as YYYY-MM-DD, e.g. 2025-10-26."),
    "bad_lang": Term("Språket ska vara sv eller en.", "The language must be sv or en."),
    "unknown_scope": Term("Det finns ingen region eller samverkan med koden {code}.",
                          "There is no region or collaboration with the code {code}."),
    "bad_request": Term("Felaktig förfrågan: {detail}", "Bad request: {detail}"),
    "updated": Term("Siffrorna beskriver läget {when} (svensk tid).", "Figures as of {when} (Swedish time)."),
    # the staffing section (app/web/staffing.py, issue 17); its headings from the glossary where it has the word
    "staffing_intro": Term("Sjuksköterskor som behövs per återstående timme i dag (svensk tid) enligt Erlang A, "
                           "en kömodell där den som väntar länge lägger på, från prognosen, uppmätt samtalstid med "
                           "efterarbete och uppskattat tålamod hos dem som ringer. {goal}.",
                           "Nurses needed in each hour left today (Swedish time) according to Erlang A, a queueing "
                           "model in which callers who wait long hang up, from the forecast, measured talk and wrap "
                           "time and the estimated patience of callers. {goal}."),
    "staffing_recover": Term("Månaden behöver {needed} besvarade av de förväntade samtalen resten av månaden: "
                             "kolumnerna ”för månaden” visar bemanningen som ger det.",
                             "The month needs {needed} of the expected calls in the rest of the month answered: the "
                             "columns “for the month” show the staffing that gives it."),
    "staffing_nurse_hours": Term("Skötersketimmar för målen: {today} i dag, {month} resten av månaden.",
                                 "Nurse-hours for the targets: {today} today, {month} in the rest of the month."),
    "staffing_nurse_hours_recover": Term("För månaden: {today} i dag, {month} resten av månaden.",
                                         "For the month: {today} today, {month} in the rest of the month."),
    "staffing_unavailable": Term("Inget bemanningsråd: {reason}", "No staffing advice: {reason}"),
    "staffing_offered": Term(*(capitalised(t) for t in (TERMS["expected_calls"].short.sv,
                                                         TERMS["expected_calls"].short.en))),
    "staffing_nurses": Term(*(capitalised(t) for t in (TERMS["nurses_needed"].short.sv,
                                                        TERMS["nurses_needed"].short.en))),
    "staffing_rate": Term("Beräknad svarsfrekvens", "Predicted answer rate"),
    "staffing_wait": Term("Beräknad medelväntetid", "Predicted mean wait"),
    "staffing_recover_nurses": Term("Sjuksköterskor för månaden", "Nurses for the month"),
    "staffing_recover_rate": Term("Beräknad svarsfrekvens för månaden", "Predicted answer rate for the month"),
    "staffing_note": Term("Anmärkning", "Note"),
    "staffing_staffed": Term("Bemannade platser", "Staffed positions"),
    "staffing_difference": Term("Skillnad mot behov", "Difference to plan"),
    "staffing_estimates": Term("Skattningar som rådet vilar på (de senaste 8 veckorna)",
                               "Estimates the advice rests on (the last 8 weeks)"),
    "staffing_handling": Term("Samtalstid med efterarbete", "Talk and wrap time"),
    "staffing_handled_calls": Term("Besvarade samtal", "Answered calls"),
    "staffing_patience": Term("Tålamod (medel)", "Patience (mean)"),
    "staffing_callers": Term("Samtal", "Calls"),
    "staffing_abandoned": Term("Avbrutna", "Abandoned"),
    "staffing_basis": Term("Underlag", "Basis"),
    "basis_slot": Term("samma veckodag och timme", "same weekday and hour"),
    "basis_region": Term("regionens alla timmar", "all the region's hours"),
    "basis_none": Term("för lite data", "too little data"),
    "all_hours": Term("alla timmar", "all hours"),
    "no_abandons": Term("inga avbrutna", "no abandons"),
    "staffing_model": Term("Modellen antar slumpvis inkommande samtal, exponentiell samtalstid och exponentiellt "
                           "tålamod, och att varje timme är i jämvikt. Den tar miste efter toppar (en kö som följer "
                           "med till nästa timme), i timmar med få samtal och där många lägger på samtidigt.",
                           "The model assumes random arrivals, exponential handling and exponential patience, each "
                           "hour in its steady state. It errs after peaks (a queue carried into the next hour), in "
                           "hours with few calls and where many callers hang up at once."),
}


def word(key: str, lang: Lang, **values: object) -> str:
    text = WEB[key][lang]
    return text.format(**values) if values else text
