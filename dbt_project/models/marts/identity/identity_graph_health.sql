{#-
    One row per run date: how the identity graph looks after the run. Re-running a date
    replaces its row (delete+insert on run_date).
-#}

{{ config(
    materialized='incremental',
    unique_key='run_date',
    incremental_strategy='delete+insert',
) }}

{%- set max_passes = var('identity_max_passes', 8) | int -%}
{%- set max_per_type = var('identity_max_identifiers_per_type', 25) | int -%}

with

person_identifiers as (

    select * from {{ ref('person_identifiers') }}

),

edges as (

    select * from {{ ref('int_identity__edges') }}

),

flagged as (

    select * from {{ ref('int_identity__flagged') }}

),

components as (

    select * from {{ ref('int_identity__components') }}

),

sightings as (

    select * from {{ ref('int_identity__sightings') }}
    where not is_bot

),

identifier_systems as (

    -- The source systems (crm, shop, web, ...) that saw each identifier.
    select
        left_type as identifier_type,
        left_value as identifier_value,
        {{ dbt.split_part('record_source', "'__'", 1) }} as source_system
    from sightings
    union
    select
        right_type as identifier_type,
        right_value as identifier_value,
        {{ dbt.split_part('record_source', "'__'", 1) }} as source_system
    from sightings
    where right_value is not null

),

person_systems as (

    select
        person_identifiers.person_id,
        count(distinct identifier_systems.source_system) as source_systems
    from person_identifiers
    inner join identifier_systems
        on
            person_identifiers.identifier_type = identifier_systems.identifier_type
            and person_identifiers.identifier_value = identifier_systems.identifier_value
    group by person_identifiers.person_id

),

persons as (

    select
        person_identifiers.person_id,
        count(*) as identifiers,
        count(case when person_identifiers.identifier_type = 'crm_id' then 1 end) as crm_ids
    from person_identifiers
    group by person_identifiers.person_id

),

person_stats as (

    select
        count(*) as persons,
        cast(sum(persons.identifiers) as {{ dbt.type_bigint() }}) as identifiers,
        count(case when persons.identifiers = 1 then 1 end) as singletons,
        count(case when persons.crm_ids > 1 then 1 end) as multi_crm_id_persons,
        count(
            case when persons.crm_ids > 1 or person_systems.source_systems > 1 then 1 end
        ) as merged_persons,
        max(persons.identifiers) as largest_component,
        avg(cast(persons.identifiers as {{ dbt.type_float() }})) as mean_identifiers_per_person
    from persons
    left join person_systems
        on persons.person_id = person_systems.person_id

),

edge_stats as (

    select count(*) as edges
    from (
        select distinct
            left_type,
            left_value,
            right_type,
            right_value
        from edges
    ) as pairs

),

flag_stats as (

    select
        count(*) as flagged_identifiers,
        count(case when reason = 'bot' then 1 end) as flagged_bots,
        count(case when reason = 'blocklist' then 1 end) as flagged_blocklist,
        count(case when reason in ('too_many_crm_ids', 'too_many_neighbours') then 1 end)
            as flagged_hubs,
        count(case when reason = 'oversized_component' then 1 end) as flagged_bridges
    from flagged

),

pass_stats as (

    select
        max(
            greatest(
                first_round_changed_in_pass, coalesce(second_round_changed_in_pass, 0)
            )
        ) as passes_used,
        count(distinct case when in_oversized_component then first_round_component_node_id end)
            as oversized_components
    from components

),

final as (

    select
        {{ as_of_date() }} as run_date,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as built_at,
        person_stats.persons,
        person_stats.identifiers,
        edge_stats.edges,
        person_stats.singletons,
        person_stats.merged_persons,
        person_stats.multi_crm_id_persons,
        cast(person_stats.merged_persons as {{ dbt.type_float() }})
        / nullif(person_stats.persons, 0) as merge_rate,
        person_stats.largest_component,
        person_stats.mean_identifiers_per_person,
        flag_stats.flagged_identifiers,
        flag_stats.flagged_bots,
        flag_stats.flagged_blocklist,
        flag_stats.flagged_hubs,
        flag_stats.flagged_bridges,
        pass_stats.oversized_components,
        pass_stats.passes_used,
        {{ max_passes }} as max_passes,
        {{ max_per_type }} as max_identifiers_per_type
    from person_stats
    cross join edge_stats
    cross join flag_stats
    cross join pass_stats

)

select * from final
