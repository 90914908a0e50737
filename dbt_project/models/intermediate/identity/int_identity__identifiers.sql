{#-
    Every identifier seen, one row per (identifier_type, identifier_value), with when it was
    first and last seen, by which sources, and whether it is screened out of the graph:

    - `blocklist`: it matches a row of the `identity_blocklist` seed (placeholders, test and
      system addresses, shared numbers);
    - `bot`: an anonymous id seen in bot traffic;
    - `too_many_crm_ids`: it links more than `identity_max_crm_ids_per_identifier` distinct CRM
      ids (its CRM-id and user-id neighbours, a user id being a CRM id by the account rule);
    - `too_many_neighbours`: it has more than `identity_max_identifiers_per_type` neighbours of
      one type (a kiosk login used on hundreds of devices, a placeholder account on every
      guest order).
    Degrees are counted over edges between identifiers that pass the blocklist and bot screens.

    `node_id` numbers the identifiers by first sighting (then type, then value): the smallest
    node id in a component is its earliest-seen identifier, the one its person id comes from.
-#}

{%- set max_crm_ids = var('identity_max_crm_ids_per_identifier', 3) | int -%}
{%- set max_per_type = var('identity_max_identifiers_per_type', 25) | int -%}

with

sightings as (

    select * from {{ ref('int_identity__sightings') }}

),

edges as (

    select * from {{ ref('int_identity__edges') }}

),

blocklist as (

    select * from {{ ref('identity_blocklist') }}

),

ends as (

    -- Bot traffic names no one: only its anonymous ids are kept, to be flagged.
    select
        left_type as identifier_type,
        left_value as identifier_value,
        record_source,
        is_bot,
        first_seen_at,
        last_seen_at
    from sightings
    where not is_bot or left_type = 'anonymous_id'
    union all
    select
        right_type as identifier_type,
        right_value as identifier_value,
        record_source,
        is_bot,
        first_seen_at,
        last_seen_at
    from sightings
    where
        right_value is not null
        and (not is_bot or right_type = 'anonymous_id')

),

by_source as (

    select
        identifier_type,
        identifier_value,
        record_source,
        {{ dbt.bool_or('is_bot') }} as is_bot,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at
    from ends
    group by identifier_type, identifier_value, record_source

),

identifiers as (

    select
        identifier_type,
        identifier_value,
        {{ dbt.bool_or('is_bot') }} as is_bot,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at,
        {{ sorted_listagg('record_source', "','") }} as sources,
        count(*) as source_count
    from by_source
    group by identifier_type, identifier_value

),

blocked_exact as (

    select
        identifiers.identifier_type,
        identifiers.identifier_value,
        blocklist.reason
    from identifiers
    inner join blocklist
        on lower(identifiers.identifier_value) = lower(blocklist.identifier_value)
    where
        blocklist.match_kind = 'exact'
        and blocklist.identifier_type in ('*', identifiers.identifier_type)

),

blocked_like as (

    -- A handful of patterns: a nested loop over them is one pass over the identifiers each.
    select
        identifiers.identifier_type,
        identifiers.identifier_value,
        blocklist.reason
    from identifiers
    inner join blocklist
        on
            blocklist.identifier_type in ('*', identifiers.identifier_type)
            and lower(identifiers.identifier_value) like lower(blocklist.identifier_value)
    where blocklist.match_kind = 'like'

),

blocked as (

    select
        identifier_type,
        identifier_value,
        min(reason) as reason
    from (
        select * from blocked_exact
        union all
        select * from blocked_like
    ) as matches
    group by identifier_type, identifier_value

),

screened as (

    select
        identifiers.identifier_type,
        identifiers.identifier_value
    from identifiers
    left join blocked
        on
            identifiers.identifier_type = blocked.identifier_type
            and identifiers.identifier_value = blocked.identifier_value
    where blocked.reason is null and not identifiers.is_bot

),

screened_edges as (

    select distinct
        edges.left_type,
        edges.left_value,
        edges.right_type,
        edges.right_value
    from edges
    inner join screened as left_end
        on
            edges.left_type = left_end.identifier_type
            and edges.left_value = left_end.identifier_value
    inner join screened as right_end
        on
            edges.right_type = right_end.identifier_type
            and edges.right_value = right_end.identifier_value

),

neighbours as (

    select
        left_type as identifier_type,
        left_value as identifier_value,
        right_type as neighbour_type,
        right_value as neighbour_value
    from screened_edges
    union all
    select
        right_type as identifier_type,
        right_value as identifier_value,
        left_type as neighbour_type,
        left_value as neighbour_value
    from screened_edges

),

neighbours_by_type as (

    select
        identifier_type,
        identifier_value,
        neighbour_type,
        count(distinct neighbour_value) as neighbour_count
    from neighbours
    group by identifier_type, identifier_value, neighbour_type

),

crm_links as (

    -- A user id is its CRM id (the account rule), so both count as the CRM id they name.
    select
        identifier_type,
        identifier_value,
        count(distinct neighbour_value) as crm_ids_linked
    from neighbours
    where neighbour_type in ('crm_id', 'user_id')
    group by identifier_type, identifier_value

),

degrees as (

    select
        identifier_type,
        identifier_value,
        max(neighbour_count) as max_neighbours_of_one_type
    from neighbours_by_type
    group by identifier_type, identifier_value

),

flagged as (

    select
        identifiers.identifier_type,
        identifiers.identifier_value,
        identifiers.first_seen_at,
        identifiers.last_seen_at,
        identifiers.sources,
        identifiers.source_count,
        coalesce(crm_links.crm_ids_linked, 0) as crm_ids_linked,
        coalesce(degrees.max_neighbours_of_one_type, 0) as max_neighbours_of_one_type,
        case
            when blocked.reason is not null then 'blocklist'
            when identifiers.is_bot then 'bot'
            when coalesce(crm_links.crm_ids_linked, 0) > {{ max_crm_ids }} then 'too_many_crm_ids'
            when
                coalesce(degrees.max_neighbours_of_one_type, 0) > {{ max_per_type }}
                then 'too_many_neighbours'
        end as flag_reason,
        case
            when blocked.reason is not null then blocked.reason
            when identifiers.is_bot then 'anonymous id seen in bot traffic'
            when coalesce(crm_links.crm_ids_linked, 0) > {{ max_crm_ids }}
                then {{ dbt.concat([
                    "'links '",
                    "cast(crm_links.crm_ids_linked as " ~ dbt.type_string() ~ ")",
                    "' CRM ids (limit " ~ max_crm_ids ~ ")'",
                ]) }}
            when coalesce(degrees.max_neighbours_of_one_type, 0) > {{ max_per_type }}
                then {{ dbt.concat([
                    "cast(degrees.max_neighbours_of_one_type as " ~ dbt.type_string() ~ ")",
                    "' neighbours of one type (limit " ~ max_per_type ~ ")'",
                ]) }}
        end as flag_detail
    from identifiers
    left join blocked
        on
            identifiers.identifier_type = blocked.identifier_type
            and identifiers.identifier_value = blocked.identifier_value
    left join crm_links
        on
            identifiers.identifier_type = crm_links.identifier_type
            and identifiers.identifier_value = crm_links.identifier_value
    left join degrees
        on
            identifiers.identifier_type = degrees.identifier_type
            and identifiers.identifier_value = degrees.identifier_value

),

final as (

    select
        row_number() over (
            order by first_seen_at asc nulls last, identifier_type asc, identifier_value asc
        ) as node_id,
        identifier_type,
        identifier_value,
        first_seen_at,
        last_seen_at,
        sources,
        source_count,
        crm_ids_linked,
        max_neighbours_of_one_type,
        flag_reason,
        flag_detail,
        flag_reason is not null as is_flagged
    from flagged

)

select * from final
