{#-
    Who is who: every normalised identifier seen (email, phone, crm_id, user_id, anonymous_id,
    loyalty_id) with the person it belongs to. One row per identifier. Flagged identifiers
    (junk, bots, hubs) are not here: see `int_identity__flagged`.
-#}

-- Rebuilt only after identity_changes has compared the new mapping with this table's rows:
-- depends_on: {{ ref('identity_changes') }}

with

resolved as (

    select * from {{ ref('int_identity__resolved') }}

),

final as (

    select
        identifier_type,
        identifier_value,
        person_id,
        first_seen_at,
        last_seen_at,
        sources,
        person_first_seen_at
    from resolved

)

select * from final
