{#- Physical stores and the IANA time zone their tills record local time in; one per store. -#}
with

source as (

    select * from {{ source('raw', 'store__stores') }}

),

renamed as (

    select
        {{ clean_text('store_id') }} as store_id,
        {{ clean_text('name') }} as store_name,
        {{ clean_text('city') }} as city,
        upper({{ clean_text('country') }}) as country_code,
        {{ clean_text('timezone') }} as timezone,
        {{ timestamptz_to_utc('_loaded_at') }} as loaded_at,
        _batch_id as batch_id,
        cast(_source_row as bigint) as source_row
    from source

),

ranked as (

    select
        *,
        row_number() over (
            partition by store_id
            order by loaded_at desc, batch_id desc, source_row desc
        ) as version_rank
    from renamed
    where store_id is not null

),

final as (

    select
        store_id,
        store_name,
        city,
        country_code,
        timezone,
        loaded_at,
        batch_id
    from ranked
    where version_rank = 1

)

select * from final
