{#-
    The identity graph's edges: one row per pair of identifiers seen together and the source
    that saw them together, the pair ordered (left < right by type, then value).

    Pairs come from the sightings (CRM records, orders, logged-in web events, consents,
    erasure requests) and from the account rule: a web user id is the customer's CRM id, so a
    user id and a CRM id with the same value are one account (source `account_rule`, seen once
    both are). Bot traffic makes no edges. Junk and hub identifiers are still here; the
    components leave out edges whose ends `int_identity__identifiers` flags.
-#}

with

sightings as (

    select * from {{ ref('int_identity__sightings') }}
    where not is_bot

),

seen_pairs as (

    select
        record_source,
        case
            when left_type < right_type or (left_type = right_type and left_value < right_value)
                then left_type
            else right_type
        end as left_type,
        case
            when left_type < right_type or (left_type = right_type and left_value < right_value)
                then left_value
            else right_value
        end as left_value,
        case
            when left_type < right_type or (left_type = right_type and left_value < right_value)
                then right_type
            else left_type
        end as right_type,
        case
            when left_type < right_type or (left_type = right_type and left_value < right_value)
                then right_value
            else left_value
        end as right_value,
        first_seen_at,
        last_seen_at,
        times_seen
    from sightings
    where
        right_value is not null
        and not (left_type = right_type and left_value = right_value)

),

account_ends as (

    select
        left_type as identifier_type,
        left_value as identifier_value,
        first_seen_at,
        last_seen_at
    from sightings
    where left_type in ('crm_id', 'user_id')
    union all
    select
        right_type as identifier_type,
        right_value as identifier_value,
        first_seen_at,
        last_seen_at
    from sightings
    where right_type in ('crm_id', 'user_id')

),

account_ids as (

    select
        identifier_type,
        identifier_value,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at
    from account_ends
    group by identifier_type, identifier_value

),

account_pairs as (

    select
        'account_rule' as record_source,
        crm_ids.identifier_type as left_type,
        crm_ids.identifier_value as left_value,
        user_ids.identifier_type as right_type,
        user_ids.identifier_value as right_value,
        greatest(crm_ids.first_seen_at, user_ids.first_seen_at) as first_seen_at,
        greatest(crm_ids.last_seen_at, user_ids.last_seen_at) as last_seen_at,
        1 as times_seen
    from account_ids as crm_ids
    inner join account_ids as user_ids
        on crm_ids.identifier_value = user_ids.identifier_value
    where
        crm_ids.identifier_type = 'crm_id'
        and user_ids.identifier_type = 'user_id'

),

pairs as (

    select * from seen_pairs
    union all
    select * from account_pairs

),

final as (

    select
        left_type,
        left_value,
        right_type,
        right_value,
        record_source,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at,
        sum(times_seen) as times_seen
    from pairs
    group by
        left_type,
        left_value,
        right_type,
        right_value,
        record_source

)

select * from final
