{#-
    Identifiers kept out of identity resolution, one row each, with the reason: junk on the
    blocklist, bots' anonymous ids, hubs that link too many CRM ids or have too many neighbours
    of one type, and bridges of oversized components (see `int_identity__components`). None of
    them is in `marts.person_identifiers`: they would merge people who are not one person.
-#}

{%- set max_per_type = var('identity_max_identifiers_per_type', 25) | int -%}

with

identifiers as (

    select * from {{ ref('int_identity__identifiers') }}

),

components as (

    select * from {{ ref('int_identity__components') }}

),

screened_out as (

    select
        identifier_type,
        identifier_value,
        flag_reason as reason,
        flag_detail as detail,
        crm_ids_linked,
        first_seen_at,
        last_seen_at,
        sources
    from identifiers
    where is_flagged

),

bridges as (

    select
        identifiers.identifier_type,
        identifiers.identifier_value,
        'oversized_component' as reason,
        {{ dbt.concat([
            "'links '",
            "cast(identifiers.crm_ids_linked as " ~ dbt.type_string() ~ ")",
            "' CRM ids in a component with over " ~ max_per_type ~ " identifiers of one type'",
        ]) }} as detail,
        identifiers.crm_ids_linked,
        identifiers.first_seen_at,
        identifiers.last_seen_at,
        identifiers.sources
    from components
    inner join identifiers
        on components.node_id = identifiers.node_id
    where components.is_bridge

),

final as (

    select * from screened_out
    union all
    select * from bridges

)

select * from final
