{#-
    What each run changed in who is who: the freshly resolved mapping compared with the one
    `marts.person_identifiers` still holds from the previous run (this model runs before that
    table is rebuilt: `person_identifiers` depends on it). Only identifiers present in both
    mappings are compared, so identifiers that simply join or leave are no change.

    - merge: one current person holds identifiers of two or more previous persons (person_id is
      the surviving id, previous_person_ids the ids merged into it);
    - split: one previous person's identifiers now belong to two or more persons (person_id is
      the previous id, current_person_ids where its identifiers went);
    - rekey: one previous person is exactly one current person under another id (an identifier
      with an earlier first sighting joined and became the anchor).

    Append-only history: never rebuilt by --full-refresh. The previous mapping is read through
    `adapter.get_relation`, not `ref`, which would be a cycle; on the first run there is none
    and no rows are written.
-#}

{{ config(materialized='incremental', full_refresh=false) }}

{%- set published = none -%}
{%- if execute -%}
    {%- set published = adapter.get_relation(
        database=this.database, schema=this.schema, identifier='person_identifiers'
    ) -%}
{%- endif %}

with

resolved as (

    select * from {{ ref('int_identity__resolved') }}

),

published as (

    -- The mapping the previous run published. On the first run there is none: the resolved
    -- mapping stands in, with no rows, so there is nothing to compare.
    select
        identifier_type,
        identifier_value,
        person_id
    {% if published is not none -%}
    from {{ published }}
    {%- else -%}
    from resolved
    where 1 = 0
    {%- endif %}

),

links as (

    select
        published.person_id as previous_person_id,
        resolved.person_id as current_person_id,
        count(*) as identifiers
    from published
    inner join resolved
        on
            published.identifier_type = resolved.identifier_type
            and published.identifier_value = resolved.identifier_value
    group by published.person_id, resolved.person_id

),

previous_fanout as (

    select
        previous_person_id,
        count(*) as current_persons
    from links
    group by previous_person_id

),

current_fanin as (

    select
        current_person_id,
        count(*) as previous_persons
    from links
    group by current_person_id

),

merged_persons as (

    select
        'merge' as change_kind,
        links.current_person_id as person_id,
        {{ sorted_listagg('links.previous_person_id', "','") }}
            as previous_person_ids,
        links.current_person_id as current_person_ids,
        cast(sum(links.identifiers) as {{ dbt.type_bigint() }}) as identifiers
    from links
    inner join current_fanin
        on links.current_person_id = current_fanin.current_person_id
    where current_fanin.previous_persons > 1
    group by links.current_person_id

),

split_persons as (

    select
        'split' as change_kind,
        links.previous_person_id as person_id,
        links.previous_person_id as previous_person_ids,
        {{ sorted_listagg('links.current_person_id', "','") }}
            as current_person_ids,
        cast(sum(links.identifiers) as {{ dbt.type_bigint() }}) as identifiers
    from links
    inner join previous_fanout
        on links.previous_person_id = previous_fanout.previous_person_id
    where previous_fanout.current_persons > 1
    group by links.previous_person_id

),

rekeyed_persons as (

    select
        'rekey' as change_kind,
        links.current_person_id as person_id,
        links.previous_person_id as previous_person_ids,
        links.current_person_id as current_person_ids,
        links.identifiers
    from links
    inner join previous_fanout
        on links.previous_person_id = previous_fanout.previous_person_id
    inner join current_fanin
        on links.current_person_id = current_fanin.current_person_id
    where
        previous_fanout.current_persons = 1
        and current_fanin.previous_persons = 1
        and links.previous_person_id <> links.current_person_id

),

changes as (

    select * from merged_persons
    union all
    select * from split_persons
    union all
    select * from rekeyed_persons

),

final as (

    select
        {{ as_of_date() }} as run_date,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as detected_at,
        cast('{{ invocation_id }}' as {{ dbt.type_string() }}) as invocation_id,
        change_kind,
        person_id,
        previous_person_ids,
        current_person_ids,
        identifiers
    from changes

)

select * from final
