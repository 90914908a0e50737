{#-
    Each person's consent per purpose (var `consent_purposes`): their latest change recorded
    before `recorded_before` (every change when none), found through their CRM ids or emails.
    Granted means true, no record means false; on a tie a withdrawal wins. One row per person
    with a change: person_id, has_<purpose>_consent, <purpose>_consent_changed_at.

    dim_customers asks as of the run's date; the activation layer asks with no bound, so an
    export honours every withdrawal the warehouse holds, even after a backfilled date.
-#}
{% macro current_consents(recorded_before=none) -%}
    {%- set purposes = var('consent_purposes') -%}
    select
        {%- for purpose in purposes %}
        {{ dbt.bool_or("purpose = '" ~ purpose ~ "' and consent_status = 'granted'") }}
            as has_{{ purpose }}_consent,
        max(case when purpose = '{{ purpose }}' then recorded_at end)
            as {{ purpose }}_consent_changed_at,
        {%- endfor %}
        person_id
    from (
        select
            changes.*,
            row_number() over (
                partition by changes.person_id, changes.purpose
                order by
                    changes.recorded_at desc,
                    case when changes.consent_status = 'withdrawn' then 0 else 1 end
            ) as change_rank
        from (
            select
                coalesce(crm_people.person_id, email_people.person_id) as person_id,
                consents.purpose,
                consents.consent_status,
                consents.recorded_at
            from {{ ref('stg_consent__consents') }} as consents
            left join {{ ref('person_identifiers') }} as crm_people
                on
                    crm_people.identifier_type = 'crm_id'
                    and consents.customer_id = crm_people.identifier_value
            left join {{ ref('person_identifiers') }} as email_people
                on
                    email_people.identifier_type = 'email'
                    and consents.email = email_people.identifier_value
            {%- if recorded_before is not none %}
            where consents.recorded_at < {{ recorded_before }}
            {%- endif %}
        ) as changes
        where changes.person_id is not null
    ) as ranked
    where change_rank = 1
    group by person_id
{%- endmacro %}
